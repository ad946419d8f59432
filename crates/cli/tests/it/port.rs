//! Moving in and out (issue 15) end to end: files from real producers (Taskwarrior 2.6's
//! `task export`, Python's `icalendar`) and from the published Todoist format imported through
//! `POST /api/v1/imports` and `tickler import`; dry runs, idempotent re-imports, malformed
//! rows, isolation between users, and a lossless round trip of the export into another server.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, TestUser, check_calendar_independently, consumer_reached, eventually, problem,
};

crate::on_both_backends!(
    a_taskwarrior_export_imports_once_as_one_series_and_says_what_it_left_out,
    an_imported_series_with_several_open_instances_goes_on_from_its_last_one,
    a_ticktick_backup_imports_all_day_and_timed_tasks_with_every_mapped_field,
    windows_and_custom_zone_names_keep_their_items_with_a_note,
    malformed_rows_are_reported_with_their_line_and_the_rest_is_imported,
    an_export_imports_into_an_empty_account_of_another_server_without_loss,
    an_icalendar_file_written_by_python_icalendar_imports_with_zones_alarms_and_rules,
    the_cli_imports_as_a_dry_run_unless_told_to_apply_and_exports,
    the_icalendar_export_imports_back_with_every_field_it_carries,
);

pub(crate) async fn import(
    app: &TestApp,
    user: &TestUser,
    source: &str,
    file_name: &str,
    bytes: Vec<u8>,
    dry_run: bool,
) -> reqwest::Response {
    let form = Form::new()
        .text("source", source.to_owned())
        .text("dry_run", dry_run.to_string())
        .part("file", Part::bytes(bytes).file_name(file_name.to_owned()));
    app.client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&user.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn imported(
    app: &TestApp,
    user: &TestUser,
    source: &str,
    name: &str,
    bytes: &[u8],
    dry_run: bool,
) -> Value {
    let response = import(app, user, source, name, bytes.to_vec(), dry_run).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) async fn all_tasks(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let response = app.get(user, "/api/v1/exports?format=json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    document["tasks"].as_array().unwrap().clone()
}

/// Runs Taskwarrior 2.6 in its own data directory; `None` (after a notice) when it is missing.
fn taskwarrior_export(dir: &Path) -> Option<Vec<u8>> {
    let task = std::env::var("TICKLER_TEST_TASKWARRIOR").unwrap_or_else(|_| "task".to_owned());
    if Command::new(&task).arg("--version").output().is_err() {
        assert!(
            std::env::var_os("TICKLER_REQUIRE_SERVICES").is_none(),
            "taskwarrior is missing but TICKLER_REQUIRE_SERVICES=1"
        );
        eprintln!("skipped: Taskwarrior (Debian package taskwarrior) is not installed");
        return None;
    }
    let rc = dir.join("taskrc");
    std::fs::write(&rc, "").unwrap();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(&task)
            .args([
                "rc.confirmation=off",
                "rc.verbose=nothing",
                "rc.recurrence.confirmation=off",
            ])
            .args(args)
            .env("TASKRC", &rc)
            .env("TASKDATA", &data)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "task {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    run(&[
        "add",
        "Pay rent",
        "due:2026-12-01T09:00:00Z",
        "recur:monthly",
        "project:Home.Flat",
        "+bills",
        "priority:H",
    ]);
    run(&["add", "Read book", "scheduled:2026-12-05"]);
    run(&["2", "annotate", "chapter 3"]);
    run(&["add", "Old thing"]);
    run(&["3", "delete"]);
    run(&["add", "Done thing"]);
    run(&["4", "done"]);
    // Listing makes Taskwarrior generate the recurring instances.
    run(&["list"]);
    Some(run(&["export"]))
}

async fn a_taskwarrior_export_imports_once_as_one_series_and_says_what_it_left_out(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(file) = taskwarrior_export(dir.path()) else {
        return;
    };
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    // The default is a dry run: a report, nothing written.
    let form = Form::new()
        .text("source", "taskwarrior")
        .part("file", Part::bytes(file.clone()).file_name("export.json"));
    let response = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&ada.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let dry: Value = response.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    let planned = dry["progress"]["tasks_created"].as_u64().unwrap();
    assert!(planned >= 4, "{dry}");
    assert!(
        dry["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|task| task["action"] == "create")
    );
    let left_out = dry["not_carried_over"].to_string();
    assert!(left_out.contains("deleted in Taskwarrior"), "{left_out}");
    assert!(left_out.contains("recurring template"), "{left_out}");
    assert!(left_out.contains("scheduled"), "{left_out}");
    assert!(
        dry["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "recurrence" && f["from"] == "recur")
    );
    assert!(all_tasks(&app, &ada).await.is_empty());

    let applied = imported(&app, &ada, "taskwarrior", "export.json", &file, false).await;
    assert_eq!(
        applied["progress"]["tasks_created"].as_u64().unwrap(),
        planned
    );
    let tasks = all_tasks(&app, &ada).await;
    assert_eq!(tasks.len() as u64, planned);
    let rent: Vec<&Value> = tasks.iter().filter(|t| t["title"] == "Pay rent").collect();
    assert!(rent.len() >= 2, "{tasks:?}");
    let series = &rent[0]["series_id"];
    assert!(
        rent.iter().all(|t| &t["series_id"] == series),
        "one series: {rent:?}"
    );
    let mut sequences: Vec<u64> = rent
        .iter()
        .map(|t| t["sequence"].as_u64().unwrap())
        .collect();
    sequences.sort_unstable();
    assert_eq!(sequences[..2], [1, 2]);
    assert_eq!(rent[0]["recurrence"], "FREQ=MONTHLY");
    assert_eq!(rent[0]["priority"], "high");
    assert_eq!(rent[0]["tags"], json!(["bills", "home-flat"]));
    let book = tasks.iter().find(|t| t["title"] == "Read book").unwrap();
    assert!(book["description"].as_str().unwrap().contains("chapter 3"));
    let done = tasks.iter().find(|t| t["title"] == "Done thing").unwrap();
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string());

    // Through the same use cases as the API: the audit trail says `import`.
    let id = done["id"].as_str().unwrap().to_owned();
    let origin = eventually(20, || async {
        let response = app.get(&ada, &format!("/api/v1/tasks/{id}/history")).await;
        if response.status() != StatusCode::OK {
            return None;
        }
        let page: Value = response.json().await.unwrap();
        page["items"].get(0).map(|item| item["origin"].clone())
    })
    .await;
    assert_eq!(origin, "import");

    // The same file again creates nothing.
    let again = imported(&app, &ada, "taskwarrior", "export.json", &file, false).await;
    assert_eq!(again["progress"]["tasks_created"], 0);
    assert_eq!(
        again["progress"]["already_imported"].as_u64().unwrap(),
        planned
    );
    assert_eq!(all_tasks(&app, &ada).await.len() as u64, planned);

    // Another user sees none of it, and imports the file into their own account.
    assert!(all_tasks(&app, &bob).await.is_empty());
    let bobs = imported(&app, &bob, "taskwarrior", "export.json", &file, false).await;
    assert_eq!(bobs["progress"]["tasks_created"].as_u64().unwrap(), planned);
    let response = app.get(&bob, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// The instances of the series `id` belongs to, by sequence number.
async fn series_of(app: &TestApp, user: &TestUser, id: &str) -> Vec<Value> {
    let response = app.get(user, &format!("/api/v1/tasks/{id}/series")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// Completes a task, then waits until the recurring consumer has handled its completion.
async fn complete(app: &TestApp, user: &TestUser, id: &str) {
    let response = app
        .post(user, &format!("/api/v1/tasks/{id}/complete"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let store = app.store();
    let position = eventually(10, || async {
        let completion = store
            .outbox_after(Default::default(), 10_000)
            .await
            .unwrap()
            .into_iter()
            .find(|record| {
                record.message.event_type == "tickler.task.completed"
                    && record.message.subject == id
            });
        completion.map(|record| record.position)
    })
    .await;
    consumer_reached(app, "recurring", position).await;
}

/// The dead letters of the recurring consumer.
async fn recurring_dead_letters(app: &TestApp) -> Vec<tickler_store::DeadLetter> {
    app.store()
        .list_dead_letters(&tickler_store::DeadLetterQuery {
            consumer: Some("recurring".to_owned()),
            include_replayed: true,
            limit: 100,
        })
        .await
        .unwrap()
}

/// Taskwarrior keeps several pending instances of a recurring task (the monthly rent of
/// December and January): imported, completing the first makes nothing (its next instance is
/// there) and no dead letter; completing the last makes the next one, once.
async fn an_imported_series_with_several_open_instances_goes_on_from_its_last_one(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(file) = taskwarrior_export(dir.path()) else {
        return;
    };
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    imported(&app, &ada, "taskwarrior", "export.json", &file, false).await;
    let tasks = all_tasks(&app, &ada).await;
    let first = tasks
        .iter()
        .filter(|t| t["title"] == "Pay rent")
        .min_by_key(|t| t["sequence"].as_u64().unwrap())
        .unwrap();
    let first_id = first["id"].as_str().unwrap().to_owned();
    let before = series_of(&app, &ada, &first_id).await;
    assert!(before.len() >= 2, "{before:#?}");
    assert!(before.iter().all(|t| t["status"] == "todo"), "{before:#?}");
    // The import advanced the series to its last instance, as if tickler had made them all:
    // the series refuses to make that instance again.
    let last_sequence = before.last().unwrap()["sequence"].as_u64().unwrap();
    let refused = app
        .store()
        .commit(tickler_store::ChangeSet {
            series: vec![tickler_store::SeriesWrite::Advance {
                owner: tickler_domain::UserId::from_uuid(ada.id.parse().unwrap()),
                series: tickler_domain::TaskId::from_uuid(
                    first["series_id"].as_str().unwrap().parse().unwrap(),
                ),
                sequence: u32::try_from(last_sequence).unwrap(),
            }],
            ..tickler_store::ChangeSet::default()
        })
        .await;
    assert!(
        matches!(
            refused,
            Err(tickler_store::StoreError::Conflict(
                tickler_store::Conflict::SeriesClosed
            ))
        ),
        "{refused:?}"
    );

    complete(&app, &ada, &first_id).await;
    let letters = recurring_dead_letters(&app).await;
    assert!(letters.is_empty(), "{letters:?}");
    let after = series_of(&app, &ada, &first_id).await;
    assert_eq!(after.len(), before.len(), "{after:#?}");

    let last = before.last().unwrap();
    complete(&app, &ada, last["id"].as_str().unwrap()).await;
    let settled = series_of(&app, &ada, &first_id).await;
    assert_eq!(settled.len(), before.len() + 1, "{settled:#?}");
    let next = settled.last().unwrap();
    assert_eq!(next["sequence"].as_u64().unwrap(), last_sequence + 1);
    assert_eq!(next["status"], "todo");
    assert!(next["due_at"].as_str().unwrap() > last["due_at"].as_str().unwrap());
    let letters = recurring_dead_letters(&app).await;
    assert!(letters.is_empty(), "{letters:?}");
}

/// A TickTick backup as its "Generate backup" writes it (the preamble, then the header row of
/// `crates/import/src/ticktick.rs`): an all-day task in Asia/Karachi, whose due date TickTick
/// writes as the start of that day in UTC (19:00 the evening before), and a timed one.
const TICKTICK_BACKUP: &str = "\"Date: 2026-11-30+0000\"\n\"Version: 7.1\"\n\"Status: \n0 Normal\n1 Completed\n2 Archived\"\n\
\"Folder Name\",\"List Name\",\"Title\",\"Kind\",\"Tags\",\"Content\",\"Is Check list\",\"Start Date\",\"Due Date\",\"Reminder\",\"Repeat\",\"Priority\",\"Status\",\"Created Time\",\"Completed Time\",\"Order\",\"Timezone\",\"Is All Day\",\"Is Floating\",\"Column Name\",\"Column Order\",\"View Mode\",\"taskId\",\"parentId\"\n\
\"Work\",\"Errands\",\"Renew the licence\",\"TEXT\",\"papers, Urgent stuff\",\"take the old one\",\"N\",\"2026-12-09T19:00:00+0000\",\"2026-12-09T19:00:00+0000\",\"TRIGGER:-PT2H\",\"RRULE:FREQ=YEARLY;INTERVAL=1\",\"3\",\"0\",\"2026-11-01T10:00:00+0000\",\"\",\"0\",\"Asia/Karachi\",\"true\",\"false\",\"\",\"\",\"list\",\"tt-licence\",\"\"\n\
\"\",\"Inbox\",\"Call the bank\",\"TEXT\",\"\",\"about the card\",\"N\",\"2026-12-03T07:30:00+0000\",\"2026-12-03T08:00:00+0000\",\"TRIGGER:-PT15M,TRIGGER:-PT1H\",\"\",\"5\",\"1\",\"2026-11-02T09:00:00+0000\",\"2026-11-03T12:00:00+0000\",\"0\",\"Europe/London\",\"false\",\"true\",\"Doing\",\"\",\"kanban\",\"tt-bank\",\"tt-licence\"\n";

/// Asserts that an RFC 3339 instant of a body is `expected`, whatever its notation.
#[track_caller]
fn assert_instant(value: &Value, expected: &str) {
    let parse = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|error| panic!("{text:?}: {error}"))
            .to_utc()
    };
    assert_eq!(
        parse(value.as_str().unwrap_or_default()),
        parse(expected),
        "{value}"
    );
}

/// The `(first, second)` string fields of each object of a report's array.
fn pairs(items: &Value, first: &str, second: &str) -> Vec<(String, String)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let field = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
            (field(first), field(second))
        })
        .collect()
}

fn sorted(values: &Value) -> Vec<String> {
    let mut items: Vec<String> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap().to_owned())
        .collect();
    items.sort();
    items
}

/// A TickTick backup through `POST /api/v1/imports`: every mapped field of an all-day task in
/// a zone that is not UTC (its date stays the Karachi date) and of a timed one, what was left
/// out, and an idempotent second import.
async fn a_ticktick_backup_imports_all_day_and_timed_tasks_with_every_mapped_field(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register_in("ada@example.org", "America/New_York").await;
    let file = TICKTICK_BACKUP.as_bytes();
    let report = imported(&app, &ada, "ticktick", "backup.csv", file, false).await;
    assert_eq!(report["progress"]["tasks_created"], 2, "{report}");
    assert_eq!(report["progress"]["malformed"], 0, "{report}");
    let tasks = all_tasks(&app, &ada).await;
    let licence = tasks
        .iter()
        .find(|t| t["title"] == "Renew the licence")
        .unwrap();
    assert_eq!(licence["description"], "take the old one");
    assert_eq!(
        sorted(&licence["tags"]),
        ["errands", "papers", "urgent-stuff", "work"]
    );
    assert_eq!(licence["priority"], "medium");
    assert_eq!(licence["status"], "todo");
    assert_eq!(licence["all_day"], true);
    assert_eq!(licence["timezone"], "Asia/Karachi");
    // The tenth of December in Karachi: its start, 19:00 UTC the day before.
    assert_instant(&licence["due_at"], "2026-12-09T19:00:00Z");
    assert_eq!(licence["recurrence"], "FREQ=YEARLY;INTERVAL=1");
    assert_eq!(licence["recurrence_mode"], "from_due");
    assert_eq!(licence["reminders"], json!(["-PT2H"]));
    assert_instant(&licence["created_at"], "2026-11-01T10:00:00Z");
    assert!(licence["completed_at"].is_null());

    let bank = tasks
        .iter()
        .find(|t| t["title"] == "Call the bank")
        .unwrap();
    assert_eq!(
        bank["description"],
        "about the card\n\nStarts: 2026-12-03T07:30:00Z"
    );
    assert_eq!(bank["tags"], json!(["inbox"]));
    assert_eq!(bank["priority"], "high");
    assert_eq!(bank["status"], "done");
    assert_eq!(bank["all_day"], false);
    assert_eq!(bank["timezone"], "Europe/London");
    assert_instant(&bank["due_at"], "2026-12-03T08:00:00Z");
    assert!(bank["recurrence"].is_null());
    assert_eq!(sorted(&bank["reminders"]), ["-PT15M", "-PT1H"]);
    assert_instant(&bank["created_at"], "2026-11-02T09:00:00Z");
    assert_instant(&bank["completed_at"], "2026-11-03T12:00:00Z");

    let mapped = pairs(&report["fields"], "field", "from");
    for (field, from) in [
        ("title", "Title"),
        ("description", "Content"),
        ("tags", "Folder Name"),
        ("tags", "List Name"),
        ("priority", "Priority"),
        ("status", "Status"),
        ("timezone", "Timezone"),
        ("due_at", "Due Date"),
        ("recurrence", "Repeat"),
        ("reminders", "Reminder"),
    ] {
        assert!(
            mapped.contains(&(field.to_owned(), from.to_owned())),
            "{field} from {from}: {mapped:?}"
        );
    }
    let mut left_out = pairs(&report["not_carried_over"], "source_id", "field");
    left_out.sort();
    let expected: Vec<(String, String)> = [
        ("tt-bank", "Column Name"),
        ("tt-bank", "Is Floating"),
        ("tt-bank", "Start Date"),
        ("tt-bank", "parentId"),
    ]
    .iter()
    .map(|(id, field)| ((*id).to_owned(), (*field).to_owned()))
    .collect();
    assert_eq!(left_out, expected);

    let again = imported(&app, &ada, "ticktick", "backup.csv", file, false).await;
    assert_eq!(again["progress"]["tasks_created"], 0);
    assert_eq!(again["progress"]["already_imported"], 2);
    assert_eq!(all_tasks(&app, &ada).await.len(), 2);
}

async fn malformed_rows_are_reported_with_their_line_and_the_rest_is_imported(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    // Columns of Todoist's "Format a CSV file to import into Todoist".
    let mut csv =
        b"TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n\
task,Water the plants @home,,4,1,,,every monday,en,Europe/Berlin\n\
task,Broken priority,,9,1,,,,,\n\
nonsense,row,,,,,,,,\n"
            .to_vec();
    // Not UTF-8: an unreadable row, skipped.
    csv.extend_from_slice(b"task,caf\xe9,,1,1,,,,,\ntask,Feed the cat,,1,1,,,,,\n");
    let report = imported(&app, &ada, "todoist", "Home.csv", &csv, false).await;
    assert_eq!(report["progress"]["tasks_created"], 2, "{report}");
    let lines: Vec<u64> = report["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5], "{report}");
    let tasks = all_tasks(&app, &ada).await;
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["recurrence"], "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(tasks[0]["tags"], json!(["home"]));

    // Client mistakes are problem documents, never a 500.
    let unknown = import(&app, &ada, "wunderlist", "x.csv", b"a".to_vec(), true).await;
    let body = problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "source");
    let not_ical = import(&app, &ada, "ical", "x.ics", b"hello".to_vec(), true).await;
    problem(not_ical, StatusCode::UNPROCESSABLE_ENTITY).await;
    let not_json = import(&app, &ada, "tickler", "x.json", b"[1,2".to_vec(), true).await;
    problem(not_json, StatusCode::UNPROCESSABLE_ENTITY).await;
    let no_file = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&ada.token)
        .multipart(Form::new().text("source", "ical"))
        .send()
        .await
        .unwrap();
    problem(no_file, StatusCode::UNPROCESSABLE_ENTITY).await;
}

/// Every field of a task except its server-given identity (id, series id: mapped), `version`
/// and `updated_at` (the import is a change on the new server).
fn comparable(task: &Value, ids: &HashMap<String, String>) -> Value {
    let mut task = task.clone();
    let object = task.as_object_mut().unwrap();
    for key in ["id", "version", "updated_at", "history"] {
        object.remove(key);
    }
    let series = object["series_id"].as_str().unwrap().to_owned();
    object.insert(
        "series_id".to_owned(),
        json!(ids.get(&series).cloned().unwrap_or(series)),
    );
    task
}

async fn an_export_imports_into_an_empty_account_of_another_server_without_loss(backend: Backend) {
    let Some(old) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(new) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = old.register_in("ada@example.org", "Asia/Karachi").await;
    old.create_task(&ada, json!({
        "title": "Pay the rent — کرایہ", "description": "line one\nline two", "priority": "urgent",
        "due_at": "2026-12-01", "all_day": true, "timezone": "Europe/Berlin", "tags": ["home", "گھر"],
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1", "recurrence_mode": "from_completion",
        "reminders": ["-PT30M", "2026-11-30T08:00:00Z"]
    })).await;
    let weekly = old.create_task(&ada, json!({
        "title": "Standup", "due_at": "2026-12-07T09:00:00Z", "recurrence": "FREQ=WEEKLY", "status": "in_progress"
    })).await;
    old.create_task(&ada, json!({"title": "No date", "priority": "low"}))
        .await;
    // Notification channels: a webhook and an e-mail channel (on), the in-app one turned off.
    const CHANNELS: &str = "/api/v1/notification-channels";
    for body in [
        json!({"kind": "webhook", "url": "https://hooks.example.org/tickler"}),
        json!({"kind": "email", "address": "ada+alerts@example.org"}),
    ] {
        let response = old.post(&ada, CHANNELS, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    }
    let channels: Value = old.get(&ada, CHANNELS).await.json().await.unwrap();
    let in_app = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|channel| channel["kind"] == "in_app")
        .unwrap()
        .clone();
    let response = old
        .patch(
            &ada,
            &format!("{CHANNELS}/{}", in_app["id"].as_str().unwrap()),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Completing a recurring task makes its next instance: a series of two.
    let id = weekly["id"].as_str().unwrap();
    old.post(&ada, &format!("/api/v1/tasks/{id}/complete"), &json!({}))
        .await;
    let exported: Value = eventually(20, || async {
        let document: Value = old
            .get(&ada, "/api/v1/exports?format=json&history=true")
            .await
            .json()
            .await
            .unwrap();
        (document["tasks"].as_array().unwrap().len() == 4).then_some(document)
    })
    .await;
    assert_eq!(exported["format"], "tickler-export");
    assert_eq!(exported["version"], 1);
    assert!(exported["tasks"][0]["history"].is_array());
    let bytes = serde_json::to_vec(&exported).unwrap();

    let ada_new = new.register_in("ada@example.org", "UTC").await;
    // A dry run says what it would do with the channels, and creates none.
    let dry = imported(&new, &ada_new, "tickler", "export.json", &bytes, true).await;
    let actions: Vec<(String, String)> = dry["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().into(),
                c["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    for expected in [
        ("webhook", "create"),
        ("email", "create"),
        ("in_app", "update"),
    ] {
        assert!(
            actions.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {dry}"
        );
    }
    assert!(!dry.to_string().contains("whsec_"));
    let untouched: Value = new
        .get(&ada_new, "/api/v1/exports?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(untouched["channels"].as_array().unwrap().len(), 1);
    assert_eq!(untouched["channels"][0]["enabled"], true);
    let report = imported(&new, &ada_new, "tickler", "export.json", &bytes, false).await;
    assert_eq!(report["progress"]["tasks_created"], 4, "{report}");
    assert_eq!(report["progress"]["malformed"], 0, "{report}");
    let ids: HashMap<String, String> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| {
            (
                task["source_id"].as_str().unwrap().to_owned(),
                task["task_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let after = all_tasks(&new, &ada_new).await;
    let before = exported["tasks"].as_array().unwrap();
    assert_eq!(after.len(), before.len());
    for old_task in before {
        let new_id = &ids[old_task["id"].as_str().unwrap()];
        let new_task = after.iter().find(|task| &task["id"] == new_id).unwrap();
        assert_eq!(
            comparable(new_task, &HashMap::new()),
            comparable(old_task, &ids),
            "{old_task}"
        );
    }
    // The channels: the same targets, never the old secret; the webhook off with a new secret
    // (reported once), the e-mail channel and the in-app one as they were.
    let channel = |report: &Value, kind: &str| -> Value {
        report["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|channel| channel["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} channel in {report}"))
            .clone()
    };
    let webhook = channel(&report, "webhook");
    assert_eq!(webhook["action"], "created", "{report}");
    assert_eq!(webhook["enabled"], false);
    assert!(webhook["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(channel(&report, "email")["action"], "created");
    assert_eq!(channel(&report, "in_app")["action"], "updated");
    let new_channels = new.get(&ada_new, "/api/v1/exports?format=json").await;
    let new_channels = new_channels.json::<Value>().await.unwrap()["channels"].clone();
    let target = |channel: &Value| json!({"kind": channel["kind"], "url": channel["url"], "address": channel["address"]});
    let mut targets_before: Vec<Value> = exported["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(target)
        .collect();
    let mut targets_after: Vec<Value> = new_channels
        .as_array()
        .unwrap()
        .iter()
        .map(target)
        .collect();
    targets_before.sort_by_key(Value::to_string);
    targets_after.sort_by_key(Value::to_string);
    assert_eq!(targets_after, targets_before);
    for channel in new_channels.as_array().unwrap() {
        let expected = channel["kind"] == "email";
        assert_eq!(channel["enabled"], expected, "{channel}");
        assert!(channel.get("secret").is_none());
    }

    // A second import of the export creates nothing.
    let again = imported(&new, &ada_new, "tickler", "export.json", &bytes, false).await;
    assert_eq!(again["progress"]["tasks_created"], 0);
    assert_eq!(all_tasks(&new, &ada_new).await.len(), 4);
    for kind in ["webhook", "email", "in_app"] {
        assert_eq!(
            channel(&again, kind)["action"],
            "already_imported",
            "{again}"
        );
    }
    let channels_again: Value = new
        .get(&ada_new, "/api/v1/exports?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(channels_again["channels"].as_array().unwrap().len(), 3);
}

/// The Python with the `icalendar` package, from `TICKLER_TEST_ICAL_PYTHON`.
fn python_with_icalendar() -> Option<String> {
    let python = std::env::var("TICKLER_TEST_ICAL_PYTHON").ok();
    let usable = python.as_ref().is_some_and(|python| {
        Command::new(python)
            .args(["-c", "import icalendar"])
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if !usable {
        assert!(
            std::env::var_os("TICKLER_REQUIRE_SERVICES").is_none(),
            "TICKLER_TEST_ICAL_PYTHON has no icalendar"
        );
        eprintln!("skipped: set TICKLER_TEST_ICAL_PYTHON (a python with icalendar)");
        return None;
    }
    python
}

/// The calendar a Python `icalendar` script writes on its standard output; `None` (after a
/// notice) without `TICKLER_TEST_ICAL_PYTHON`.
fn python_calendar(script: &str) -> Option<Vec<u8>> {
    let python = python_with_icalendar()?;
    let output = Command::new(python).args(["-c", script]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(output.stdout)
}

const CALENDAR_SCRIPT: &str = r#"
import sys, datetime, zoneinfo
from icalendar import Calendar, Todo, Event, Alarm
cal = Calendar(); cal.add("prodid", "-//tickler tests//EN"); cal.add("version", "2.0")
todo = Todo()
todo.add("uid", "passport@example.org")
todo.add("summary", "Renew passport, urgently")
todo.add("description", "Bring two photos\nand the old one")
todo.add("due", datetime.datetime(2026, 12, 10, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")))
todo.add("rrule", {"freq": "yearly"})
todo.add("categories", ["papers", "Home Office"])
todo.add("priority", 1)
todo.add("status", "NEEDS-ACTION")
alarm = Alarm(); alarm.add("action", "DISPLAY"); alarm.add("description", "r"); alarm.add("trigger", datetime.timedelta(minutes=-30))
todo.add_component(alarm)
cal.add_component(todo)
event = Event()
event.add("uid", "dentist@example.org")
event.add("summary", "Dentist")
event.add("dtstart", datetime.date(2026, 12, 15))
cal.add_component(event)
done = Todo()
done.add("uid", "done@example.org"); done.add("summary", "Filed taxes"); done.add("status", "COMPLETED")
done.add("completed", datetime.datetime(2026, 11, 1, 8, 0, tzinfo=datetime.timezone.utc))
cal.add_component(done)
sys.stdout.buffer.write(cal.to_ical())
"#;

async fn an_icalendar_file_written_by_python_icalendar_imports_with_zones_alarms_and_rules(
    backend: Backend,
) {
    let Some(calendar) = python_calendar(CALENDAR_SCRIPT) else {
        return;
    };
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let report = imported(&app, &ada, "ical", "calendar.ics", &calendar, false).await;
    assert_eq!(report["progress"]["tasks_created"], 3, "{report}");
    let tasks = all_tasks(&app, &ada).await;
    let passport = tasks
        .iter()
        .find(|t| t["title"] == "Renew passport, urgently")
        .unwrap();
    assert_eq!(passport["description"], "Bring two photos\nand the old one");
    assert_eq!(passport["due_at"], "2026-12-10T08:00:00Z");
    assert_eq!(passport["timezone"], "Europe/Berlin");
    assert_eq!(passport["recurrence"], "FREQ=YEARLY");
    assert_eq!(passport["tags"], json!(["papers", "home-office"]));
    assert_eq!(passport["priority"], "urgent");
    assert_eq!(passport["reminders"], json!(["-PT30M"]));
    let dentist = tasks.iter().find(|t| t["title"] == "Dentist").unwrap();
    assert_eq!(dentist["all_day"], true);
    let filed = tasks.iter().find(|t| t["title"] == "Filed taxes").unwrap();
    assert_eq!(filed["status"], "done");
    assert_eq!(filed["completed_at"], "2026-11-01T08:00:00Z");
    // The reminder was scheduled like any task's.
    let upcoming: Value = app
        .get(&ada, "/api/v1/reminders?upcoming=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        upcoming
            .to_string()
            .contains(passport["id"].as_str().unwrap()),
        "{upcoming}"
    );
}

/// A calendar as Outlook writes it, made by Python's `icalendar`: a Windows zone name with its
/// VTIMEZONE, a custom zone described only by its VTIMEZONE, and a zone nothing describes.
const OUTLOOK_SCRIPT: &str = r#"
import sys, datetime
from icalendar import Calendar, Event, Todo, Timezone, TimezoneStandard, TimezoneDaylight
cal = Calendar(); cal.add("prodid", "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN"); cal.add("version", "2.0")
def zone(tzid, standard, daylight=None):
    tz = Timezone(); tz.add("tzid", tzid)
    std = TimezoneStandard(); std.add("dtstart", datetime.datetime(1601, 10, 28, 3, 0))
    std.add("tzoffsetfrom", daylight or standard); std.add("tzoffsetto", standard)
    tz.add_component(std)
    if daylight:
        dst = TimezoneDaylight(); dst.add("dtstart", datetime.datetime(1601, 3, 25, 2, 0))
        dst.add("tzoffsetfrom", standard); dst.add("tzoffsetto", daylight)
        tz.add_component(dst)
    cal.add_component(tz)
zone("W. Europe Standard Time", datetime.timedelta(hours=1), datetime.timedelta(hours=2))
zone("Customized Time Zone", datetime.timedelta(hours=5, minutes=30))
def item(kind, uid, summary, prop, tzid):
    c = kind(); c.add("uid", uid); c.add("summary", summary)
    c.add(prop, datetime.datetime(2026, 12, 10, 9, 0), parameters={"TZID": tzid})
    cal.add_component(c)
item(Event, "review@example.org", "Review", "dtstart", "W. Europe Standard Time")
item(Event, "pune@example.org", "Call Pune", "dtstart", "Customized Time Zone")
item(Todo, "somewhere@example.org", "Somewhere", "due", "Nowhere Standard Time")
sys.stdout.buffer.write(cal.to_ical())
"#;

/// Windows zone names map to IANA zones (CLDR); a zone only the file describes is read at its
/// VTIMEZONE's offset, one nothing describes as UTC, each with a note: no item is lost.
async fn windows_and_custom_zone_names_keep_their_items_with_a_note(backend: Backend) {
    let Some(calendar) = python_calendar(OUTLOOK_SCRIPT) else {
        return;
    };
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register_in("ada@example.org", "Asia/Tokyo").await;
    let report = imported(&app, &ada, "ical", "outlook.ics", &calendar, false).await;
    assert_eq!(report["progress"]["tasks_created"], 3, "{report}");
    assert_eq!(report["progress"]["malformed"], 0, "{report}");
    let tasks = all_tasks(&app, &ada).await;
    let task = |title: &str| tasks.iter().find(|t| t["title"] == title).unwrap().clone();
    let review = task("Review");
    assert_eq!(review["timezone"], "Europe/Berlin");
    assert_instant(&review["due_at"], "2026-12-10T08:00:00Z");
    let pune = task("Call Pune");
    assert_eq!(pune["timezone"], "Asia/Tokyo");
    assert_instant(&pune["due_at"], "2026-12-10T03:30:00Z");
    let somewhere = task("Somewhere");
    assert_instant(&somewhere["due_at"], "2026-12-10T09:00:00Z");
    let notes = pairs(&report["not_carried_over"], "source_id", "field");
    assert_eq!(
        notes,
        [
            ("pune@example.org".to_owned(), "DTSTART;TZID".to_owned()),
            ("somewhere@example.org".to_owned(), "DUE;TZID".to_owned()),
        ],
        "{report}"
    );
}

async fn the_cli_imports_as_a_dry_run_unless_told_to_apply_and_exports(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Errands.csv");
    std::fs::write(
        &file,
        "TYPE,CONTENT,PRIORITY,DATE\ntask,Buy stamps,2,2026-12-24\ntask,Post parcel,1,\n",
    )
    .unwrap();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tickler"))
            .args(args)
            .args(["--server", &app.base])
            .env("TICKLER_TOKEN", &ada.token)
            .output()
            .unwrap()
    };
    let path = file.to_str().unwrap();
    let dry = cli(&["import", "--from", "todoist", path]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let report: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert!(String::from_utf8_lossy(&dry.stderr).contains("add --apply"));
    assert!(all_tasks(&app, &ada).await.is_empty());
    let applied = cli(&["import", "--from", "todoist", path, "--apply"]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let report: Value = serde_json::from_slice(&applied.stdout).unwrap();
    assert_eq!(report["progress"]["tasks_created"], 2);
    let tasks = all_tasks(&app, &ada).await;
    assert!(
        tasks.iter().all(|t| t["tags"] == json!(["errands"])),
        "{tasks:?}"
    );

    let exported = cli(&["export", "--format", "json"]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let document: Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(document["tasks"].as_array().unwrap().len(), 2);
    let refused = cli(&["import", "--from", "tickler", path]);
    assert!(!refused.status.success());
}

/// The iCalendar export, and the calendar feed's own body, import back into accounts of other
/// zones with every field they carry: all-day and undated tasks keep their zones.
async fn the_icalendar_export_imports_back_with_every_field_it_carries(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register_in("ada@example.org", "Asia/Karachi").await;
    let bob = app.register_in("bob@example.org", "America/New_York").await;
    let grace = app
        .register_in("grace@example.org", "Pacific/Auckland")
        .await;
    app.create_task(&ada, json!({
        "title": "Pay the rent; twice, maybe", "description": "line one\nline two", "priority": "urgent",
        "due_at": "2026-12-01T09:00:00Z", "timezone": "Europe/Berlin", "tags": ["home", "bills"],
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1", "reminders": ["-PT30M"]
    })).await;
    app.create_task(&ada, json!({"title": "Holiday", "due_at": "2026-12-24", "all_day": true, "priority": "medium", "status": "in_progress"})).await;
    app.create_task(&ada, json!({
        "title": "Berlin holiday", "due_at": "2026-12-26", "all_day": true, "timezone": "Europe/Berlin",
        "recurrence": "FREQ=YEARLY", "reminders": ["-PT2H"]
    }))
    .await;
    app.create_task(&ada, json!({
        "title": "Undated", "priority": "low", "tags": ["someday"], "description": "no date, one alarm",
        "reminders": ["2026-12-20T08:00:00Z"]
    }))
    .await;
    app.create_task(&ada, json!({"title": "Undated, done", "status": "done"}))
        .await;
    let response = app.get(&ada, "/api/v1/exports?format=ical").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let calendar = response.bytes().await.unwrap().to_vec();
    let report = imported(&app, &bob, "ical", "tickler.ics", &calendar, false).await;
    assert_eq!(report["progress"]["tasks_created"], 5, "{report}");
    // Everything tickler wrote is read back: nothing is reported lost (DTSTART equals DUE).
    assert_eq!(report["not_carried_over"], json!([]), "{report}");
    let keys = [
        "title",
        "description",
        "priority",
        "status",
        "due_at",
        "all_day",
        "timezone",
        "tags",
        "recurrence",
        "reminders",
    ];
    let pick = |task: &Value| -> Value {
        keys.iter()
            .map(|key| (key.to_string(), task[key].clone()))
            .collect()
    };
    let adas = all_tasks(&app, &ada).await;
    let mut before: Vec<Value> = adas.iter().map(pick).collect();
    let mut after: Vec<Value> = all_tasks(&app, &bob).await.iter().map(pick).collect();
    before.sort_by_key(|task| task["title"].to_string());
    after.sort_by_key(|task| task["title"].to_string());
    assert_eq!(after, before);
    let zone_of = |tasks: &[Value], title: &str| {
        tasks.iter().find(|t| t["title"] == title).unwrap()["timezone"].clone()
    };
    assert_eq!(zone_of(&after, "Berlin holiday"), "Europe/Berlin");
    assert_eq!(zone_of(&after, "Holiday"), "Asia/Karachi");
    assert_eq!(zone_of(&after, "Undated"), "Asia/Karachi");

    // The calendar feed's body, fetched from its secret address, imports the same way (a feed
    // leaves undated tasks out).
    let response = app
        .post(&ada, "/api/v1/calendar-feeds", &json!({"name": "Ada's"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let feed: Value = response.json().await.unwrap();
    let response = reqwest::Client::new()
        .get(app.url(feed["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.unwrap().to_vec();
    let report = imported(&app, &grace, "ical", "feed.ics", &body, false).await;
    assert_eq!(report["progress"]["tasks_created"], 3, "{report}");
    assert_eq!(report["not_carried_over"], json!([]), "{report}");
    let mut from_feed: Vec<Value> = all_tasks(&app, &grace).await.iter().map(pick).collect();
    from_feed.sort_by_key(|task| task["title"].to_string());
    let dated: Vec<Value> = before
        .iter()
        .filter(|task| !task["due_at"].is_null())
        .cloned()
        .collect();
    assert_eq!(from_feed, dated);

    // An independent reader (Python's `icalendar`) finds every task, the undated ones as
    // VTODOs without DUE.
    let Some(python) = python_with_icalendar() else {
        return;
    };
    let text = String::from_utf8(calendar).unwrap();
    check_calendar_independently(python, &text, json!({"tasks": adas, "absent": []})).await;
}
