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
    Backend, TestApp, TestUser, check_calendar_independently, eventually, problem,
};

crate::on_both_backends!(
    a_taskwarrior_export_imports_once_as_one_series_and_says_what_it_left_out,
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
    let Some(python) = python_with_icalendar() else {
        return;
    };
    let output = Command::new(python)
        .args(["-c", CALENDAR_SCRIPT])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let report = imported(&app, &ada, "ical", "calendar.ics", &output.stdout, false).await;
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

async fn the_icalendar_export_imports_back_with_every_field_it_carries(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    app.create_task(&ada, json!({
        "title": "Pay the rent; twice, maybe", "description": "line one\nline two", "priority": "urgent",
        "due_at": "2026-12-01T09:00:00Z", "timezone": "Europe/Berlin", "tags": ["home", "bills"],
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1", "reminders": ["-PT30M"]
    })).await;
    app.create_task(&ada, json!({"title": "Holiday", "due_at": "2026-12-24", "all_day": true, "priority": "medium", "status": "in_progress"})).await;
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
    assert_eq!(report["progress"]["tasks_created"], 4, "{report}");
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

    // An independent reader (Python's `icalendar`) finds every task, the undated ones as
    // VTODOs without DUE.
    let Some(python) = python_with_icalendar() else {
        return;
    };
    let text = String::from_utf8(calendar).unwrap();
    check_calendar_independently(python, &text, json!({"tasks": adas, "absent": []})).await;
}
