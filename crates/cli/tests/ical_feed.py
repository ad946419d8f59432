"""Checks a tickler calendar feed with independent iCalendar libraries: `icalendar` parses it
and `recurring_ical_events` expands its rules.

Run by crates/cli/tests/it/feeds.rs with $TICKLER_TEST_ICAL_PYTHON:

    ical_feed.py FEED.ics EXPECTED.json

Also run by crates/cli/tests/it/port.rs on the iCalendar export, which holds undated tasks
too (as VTODOs without DUE).

EXPECTED.json holds {"tasks": [...], "absent": [...]}: each task as the REST API returns it,
with the instants `/api/v1/tasks/{id}/occurrences` lists for it under "occurrences" (and
"series_ended" when they are all there are; without "occurrences" the rule is not expanded);
"absent"
lists ids that must not be in the feed. For every task the feed must hold one VTODO whose
fields match, whose DUE is a DATE exactly when the task is all-day, and whose expansion gives
the same occurrences; every VTIMEZONE must give the offsets of the tz database. Prints "ok" or
exits non-zero with every failed check.
"""

import datetime
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events

UTC = datetime.timezone.utc
PRIORITY = {"none": 0, "low": 9, "medium": 5, "high": 3, "urgent": 1}
STATUS = {"todo": "NEEDS-ACTION", "in_progress": "IN-PROCESS", "done": "COMPLETED"}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def duration(text):
    """An ISO 8601 duration as tickler writes reminders (weeks, days, hours, minutes, seconds)."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")[1:]
    days, _, clock = body.partition("T")
    total = datetime.timedelta()
    number = ""
    for part, units in ((days, {"W": 604800, "D": 86400}), (clock, {"H": 3600, "M": 60, "S": 1})):
        for char in part:
            if char.isdigit():
                number += char
            else:
                total += datetime.timedelta(seconds=int(number) * units[char])
                number = ""
    return sign * total


def check_timezones(calendar):
    """Every VTIMEZONE, read on its own (not looked up by name), agrees with the tz database
    every six hours over ten years."""
    seen = set()
    for component in calendar.walk("VTIMEZONE"):
        name = str(component["TZID"])
        seen.add(name)
        ours = component.to_tz(lookup_tzid=False)
        reference = zoneinfo.ZoneInfo(name)
        moment = datetime.datetime(2026, 1, 1, tzinfo=UTC)
        mismatches = 0
        while moment < datetime.datetime(2036, 1, 1, tzinfo=UTC):
            if moment.astimezone(ours).utcoffset() != moment.astimezone(reference).utcoffset():
                mismatches += 1
                if mismatches == 1:
                    check(False, f"VTIMEZONE {name} gives the wrong offset at {moment}")
            moment += datetime.timedelta(hours=6)
    return seen


def main():
    feed_path, expected_path = sys.argv[1], sys.argv[2]
    with open(feed_path, "rb") as file:
        raw = file.read()
    for line in raw.split(b"\r\n"):
        check(len(line) <= 75, f"line longer than 75 octets: {line!r}")
    calendar = icalendar.Calendar.from_ical(raw)
    with open(expected_path) as file:
        expected = json.load(file)
    check(str(calendar["VERSION"]) == "2.0", "VERSION is not 2.0")
    check("PRODID" in calendar, "no PRODID")
    zones = check_timezones(calendar)
    todos = {str(todo["UID"]): todo for todo in calendar.walk("VTODO")}
    for absent in expected["absent"]:
        check(absent not in todos, f"task {absent} must not be in the feed")
    check(
        len(todos) == len(expected["tasks"]),
        f"{len(todos)} VTODOs, expected {len(expected['tasks'])}",
    )
    for task in expected["tasks"]:
        uid = task["id"]
        todo = todos.get(uid)
        if todo is None:
            check(False, f"no VTODO for task {uid} ({task['title']!r})")
            continue
        check(str(todo["SUMMARY"]) == task["title"], f"{uid}: SUMMARY {str(todo['SUMMARY'])!r}")
        if task["description"]:
            check(
                str(todo["DESCRIPTION"]) == task["description"].replace("\r\n", "\n"),
                f"{uid}: DESCRIPTION {str(todo.get('DESCRIPTION'))!r}",
            )
        check(int(todo["PRIORITY"]) == PRIORITY[task["priority"]], f"{uid}: PRIORITY {todo['PRIORITY']}")
        check(str(todo["STATUS"]) == STATUS[task["status"]], f"{uid}: STATUS {todo['STATUS']}")
        categories = todo.get("CATEGORIES")
        found_tags = [str(c) for c in categories.cats] if categories is not None else []
        check(sorted(found_tags) == sorted(task["tags"]), f"{uid}: CATEGORIES {found_tags}")
        zone = zoneinfo.ZoneInfo(task["timezone"])
        if task["due_at"] is None:
            # An undated task (the export writes them; feeds do not): no DUE, no DTSTART.
            check("DUE" not in todo and "DTSTART" not in todo, f"{uid}: an undated task with a date")
            due = None
        else:
            due = todo["DUE"].dt
        if due is None:
            pass
        elif task["all_day"]:
            expected_date = instant(task["due_at"]).astimezone(zone).date()
            check(
                type(due) is datetime.date and due == expected_date,
                f"{uid}: all-day DUE {due!r}, expected the DATE {expected_date}",
            )
        else:
            check(isinstance(due, datetime.datetime) and due.tzinfo is not None, f"{uid}: DUE {due!r}")
            check(due.astimezone(UTC) == instant(task["due_at"]), f"{uid}: DUE {due} is not {task['due_at']}")
            tzid = todo["DUE"].params.get("TZID")
            if tzid is not None:
                check(tzid in zones, f"{uid}: TZID {tzid} has no VTIMEZONE")
                check(tzid == task["timezone"], f"{uid}: TZID {tzid}, task zone {task['timezone']}")
        # Reminders: relative ones to DUE (RELATED=END), absolute ones at their instant.
        triggers = []
        for alarm in todo.walk("VALARM"):
            check(str(alarm["ACTION"]) == "DISPLAY", f"{uid}: alarm ACTION {alarm['ACTION']}")
            trigger = alarm["TRIGGER"]
            if isinstance(trigger.dt, datetime.timedelta):
                check(trigger.params.get("RELATED") == "END", f"{uid}: relative trigger not RELATED=END")
                triggers.append(("offset", trigger.dt))
            else:
                triggers.append(("at", trigger.dt.astimezone(UTC)))
        wanted = []
        for reminder in task["reminders"]:
            if reminder.lstrip("+-").upper().startswith("P"):
                wanted.append(("offset", duration(reminder.upper())))
            else:
                wanted.append(("at", instant(reminder)))
        check(sorted(map(str, triggers)) == sorted(map(str, wanted)), f"{uid}: alarms {triggers}, expected {wanted}")
        if "occurrences" not in task:
            continue
        # Expansion: the occurrences of this VTODO, from an independent RRULE engine.
        single = icalendar.Calendar()
        for component in calendar.subcomponents:
            if component.name == "VTIMEZONE" or component is todo:
                single.add_component(component)
        occurrences = task["occurrences"]
        if task["all_day"]:
            # Whole days: the range runs from the first local date to the day after the last.
            start = instant(occurrences[0]).astimezone(zone).date()
            end = instant(occurrences[-1]).astimezone(zone).date() + datetime.timedelta(days=1)
        else:
            start = instant(occurrences[0]) - datetime.timedelta(days=2)
            end = instant(occurrences[-1]) + datetime.timedelta(seconds=1)
        if task["series_ended"]:
            # The series ends with its last occurrence: look well past it for stray ones.
            end += datetime.timedelta(days=400)
        events = recurring_ical_events.of(single, components=["VTODO"]).between(start, end)
        expanded = []
        for event in events:
            value = event["DUE"].dt
            if task["all_day"]:
                expanded.append(value.isoformat())
            else:
                expanded.append(value.astimezone(UTC))
        if task["all_day"]:
            wanted_dates = [instant(o).astimezone(zone).date().isoformat() for o in occurrences]
            check(sorted(expanded) == wanted_dates, f"{uid}: expanded {sorted(expanded)}, occurrences {wanted_dates}")
        else:
            wanted_instants = [instant(o) for o in occurrences]
            check(sorted(expanded) == wanted_instants, f"{uid}: expanded {sorted(expanded)}, occurrences {wanted_instants}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")


main()
