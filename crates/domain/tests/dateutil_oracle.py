#!/usr/bin/env python3
"""Reference expansion of RRULEs with python-dateutil, for dateutil_differential.rs.

Batch mode: reads one JSON object from stdin,
    {"horizon": "2090-01-01T00:00:00Z",
     "cases": [{"id": 0, "rule": "FREQ=...", "zone": "Europe/Berlin",
                "dtstart": "2026-03-29T00:30:00Z", "limit": 25}, ...]}
and writes one JSON object to stdout,
    {"results": [{"id": 0, "mode": "local", "instants": ["...Z", ...], "cut": null,
                  "gaps": 0, "ambiguous": 0} | {"id": 0, "error": "..."}]}.

dateutil only supplies the rule's *pattern*. It departs from RFC 5545 in three ways, so the
RFC parts are applied here instead:

* it shifts local times that fall in a spring-forward gap instead of skipping them, so the
  pattern is expanded on a naive local DTSTART and each naive time is resolved here: a time
  that does not exist is dropped (and not counted), a repeated time means its first (fold=0)
  occurrence;
* it drops a DTSTART that does not match the rule and counts gap times towards COUNT, so
  COUNT and UNTIL are removed from the rule given to dateutil and applied here: DTSTART is the
  first instance, the rule's instances strictly after it follow, UNTIL (a UTC instant) is
  inclusive and COUNT counts DTSTART;
* its first WEEKLY period starts at DTSTART rather than at the start of DTSTART's week (a
  MONTHLY one does span the whole month), which changes BYSETPOS positions in that week. For
  WEEKLY rules with BYSETPOS dateutil is given the start of DTSTART's week (by WKST) at
  DTSTART's time, with BYDAY made explicit, and the instances before DTSTART are dropped;
* it steps HOURLY rules by wall-clock hour across offset changes. An HOURLY rule with only
  INTERVAL/BYMINUTE/BYSECOND in a zone whose offsets are whole hours is expanded in UTC,
  where elapsed and wall-clock hours agree ("utc" mode). Other HOURLY rules are expanded on
  the local clock and compared only before the first offset change after DTSTART: "cut" is
  that instant ("local-until-offset-change" mode).
"""

import json
import signal
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

UTC = timezone.utc
SECONDS_PER_CASE = 5


class Timeout(Exception):
    pass


def on_alarm(_signum, _frame):
    raise Timeout()


def parse_instant(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def show(instant):
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve(naive, zone):
    """RFC 5545 reading of a local time: None in a gap, the first occurrence when repeated."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        return None, False
    return first.astimezone(UTC), first.utcoffset() != second.utcoffset()


def split_rule(rule):
    pattern, count, until = [], None, None
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        if name == "COUNT":
            count = int(value)
        elif name == "UNTIL":
            until = parse_instant(value[:4] + "-" + value[4:6] + "-" + value[6:8] + "T"
                                  + value[9:11] + ":" + value[11:13] + ":" + value[13:15] + "Z")
        else:
            pattern.append(part)
    return ";".join(pattern), count, until


def whole_first_week(pattern, names, naive_start):
    """Moves a WEEKLY rule's start back to its week's first day, keeping what it implied."""
    weekdays = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    week_start = weekdays.index(dict(p.split("=") for p in pattern.split(";")).get("WKST", "MO"))
    if "BYDAY" not in names:
        pattern += ";BYDAY=" + weekdays[naive_start.weekday()]
    days_back = (naive_start.weekday() - week_start) % 7
    return pattern, naive_start - timedelta(days=days_back)


def whole_hour_zone(zone, year):
    return all(
        datetime(year, month, 1, tzinfo=zone).utcoffset() % timedelta(hours=1) == timedelta(0)
        for month in (1, 7)
    )


def first_offset_change(zone, start, end):
    """The first instant after `start` (before `end`) where the zone's offset differs."""
    offset = start.astimezone(zone).utcoffset()
    changed = lambda instant: instant.astimezone(zone).utcoffset() != offset
    coarse = start
    while coarse < end and not changed(coarse + timedelta(days=1)):
        coarse += timedelta(days=1)
    if coarse >= end:
        return None
    fine = coarse
    while not changed(fine):
        fine += timedelta(minutes=15)
    return fine


def expand(case, horizon):
    zone = ZoneInfo(case["zone"])
    dtstart = parse_instant(case["dtstart"])
    limit = case["limit"]
    pattern, count, until = split_rule(case["rule"])
    names = {part.partition("=")[0] for part in pattern.split(";")}
    hourly = "FREQ=HOURLY" in pattern
    utc_mode = (hourly and names <= {"FREQ", "INTERVAL", "BYMINUTE", "BYSECOND"}
                and whole_hour_zone(zone, dtstart.year))
    if utc_mode:
        naive_start, clock = dtstart.replace(tzinfo=None), UTC
    else:
        naive_start, clock = dtstart.astimezone(zone).replace(tzinfo=None), zone
    if "FREQ=WEEKLY" in pattern and "BYSETPOS" in names:
        pattern, naive_start = whole_first_week(pattern, names, naive_start)

    series, gaps, ambiguous = [dtstart], 0, 0
    for naive in rrulestr(pattern, dtstart=naive_start):
        if len(series) >= limit or naive.year > horizon.year:
            break
        instant, repeated = resolve(naive, clock)
        if instant is None:
            gaps += 1
            continue
        ambiguous += repeated
        if instant <= series[-1]:
            continue
        if until is not None and instant > until:
            break
        series.append(instant)
    if count is not None:
        series = series[:count]
    series = [instant for instant in series if instant < horizon]

    cut = None
    mode = "utc" if utc_mode else "local"
    if hourly and not utc_mode:
        mode = "local-until-offset-change"
        # Up to the horizon, not to dateutil's last instance: the engine's own series may
        # run on past a change that dateutil's does not reach.
        cut = first_offset_change(zone, dtstart, horizon)
    return {
        "id": case["id"],
        "mode": mode,
        "instants": [show(instant) for instant in series],
        "cut": show(cut) if cut else None,
        "gaps": gaps,
        "ambiguous": ambiguous,
    }


def main():
    request = json.load(sys.stdin)
    horizon = parse_instant(request["horizon"])
    signal.signal(signal.SIGALRM, on_alarm)
    results = []
    for case in request["cases"]:
        signal.alarm(SECONDS_PER_CASE)
        try:
            results.append(expand(case, horizon))
        except Timeout:
            results.append({"id": case["id"], "error": "timed out"})
        except Exception as error:  # reported per case, the batch goes on
            results.append({"id": case["id"], "error": f"{type(error).__name__}: {error}"})
        finally:
            signal.alarm(0)
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
