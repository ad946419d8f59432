//! Imports that stream both ways (issue 15): Todoist's backup ZIP read entry by entry as it
//! uploads, and `Accept: application/x-ndjson` progress lines over a real socket while a few
//! thousand rows are imported.

use std::io::Write;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, problem};
use crate::operations::{assert_matches_schema, openapi_document};
use crate::port::{all_tasks, import, imported};
use crate::terminal::ClientEnv;

crate::on_both_backends!(
    a_todoist_backup_zip_imports_each_project_and_a_corrupt_one_is_refused,
    progress_lines_stream_before_the_report_which_equals_the_plain_answer,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickler_import_on_a_terminal_shows_the_servers_progress() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("Bulk.csv");
    std::fs::write(&file, many_rows(2_000)).unwrap();
    let env = ClientEnv::new();
    let terminal = env.spawn_in_terminal(&[
        "import",
        "--from",
        "todoist",
        file.to_str().unwrap(),
        "--apply",
        "--server",
        &app.base,
        "--token",
        &ada.token,
    ]);
    // The bar's message counts what the server reports it has done.
    terminal.expect(" items, ", 0).await;
    let (code, screen) = terminal.finish().await;
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("2000 tasks created"), "{screen}");
    assert_eq!(all_tasks(&app, &ada).await.len(), 2_000);
}

/// A Todoist backup: one deflated CSV per project, named by the project.
fn todoist_backup(files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

// Columns of Todoist's "Format a CSV file to import into Todoist", which its backups hold.
const HOME: &str = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n\
task,Water the plants @garden,,4,1,,,every monday,en,Europe/Berlin\n\
note,Use the blue can,,,,,,,,\n\
section,Errands,,,,,,,,\n\
task,Buy stamps,at the post office,2,1,,,2026-12-24,en,\n\
task,Ask about parcels,,3,2,,,,,\n";
const WORK: &str = "TYPE,CONTENT,PRIORITY,INDENT,DATE\n\
task,Send the report,1,1,every friday\n\
task,Check the figures,2,2,\n";

async fn a_todoist_backup_zip_imports_each_project_and_a_corrupt_one_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let zip = todoist_backup(&[("Home Stuff.csv", HOME), ("Work.csv", WORK)]);
    let dry = imported(&app, &ada, "todoist", "Todoist backup.zip", &zip, true).await;
    assert_eq!(dry["progress"]["tasks_created"], 5, "{dry}");
    assert!(all_tasks(&app, &ada).await.is_empty());
    let report = imported(&app, &ada, "todoist", "Todoist backup.zip", &zip, false).await;
    assert_eq!(report["progress"]["tasks_created"], 5, "{report}");
    let reasons = report["not_carried_over"].to_string();
    assert!(reasons.contains("section \\\"Errands\\\""), "{reasons}");
    assert!(reasons.contains("no sub-tasks"), "{reasons}");

    let tasks = all_tasks(&app, &ada).await;
    let task = |title: &str| -> Value {
        tasks
            .iter()
            .find(|task| task["title"] == title)
            .unwrap_or_else(|| panic!("no {title:?} in {tasks:?}"))
            .clone()
    };
    let water = task("Water the plants");
    assert_eq!(water["tags"], json!(["garden", "home-stuff"]));
    assert_eq!(water["recurrence"], "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(water["timezone"], "Europe/Berlin");
    assert_eq!(water["description"], "Use the blue can");
    let stamps = task("Buy stamps");
    assert_eq!(stamps["tags"], json!(["errands", "home-stuff"]));
    assert_eq!(stamps["priority"], "high");
    assert_eq!(stamps["all_day"], true);
    let parcels = task("Ask about parcels");
    assert!(
        parcels["description"]
            .as_str()
            .unwrap()
            .contains("Sub-task of: Buy stamps")
    );
    assert_eq!(parcels["tags"], json!(["errands", "home-stuff"]));
    let send = task("Send the report");
    assert_eq!(send["tags"], json!(["work"]));
    assert_eq!(send["priority"], "urgent");
    assert_eq!(send["recurrence"], "FREQ=WEEKLY;BYDAY=FR");
    assert!(
        task("Check the figures")["description"]
            .as_str()
            .unwrap()
            .contains("Sub-task of: Send the report")
    );

    // The backup again, or one of its projects on its own: nothing new.
    let again = imported(&app, &ada, "todoist", "Todoist backup.zip", &zip, false).await;
    assert_eq!(again["progress"]["already_imported"], 5, "{again}");
    let alone = imported(&app, &ada, "todoist", "Work.csv", WORK.as_bytes(), false).await;
    assert_eq!(alone["progress"]["already_imported"], 2, "{alone}");

    // Corrupt backups are problem documents that say so, never a 500.
    let mut bad_data = zip.clone();
    // The first entry's deflated data (after the 30-byte header, its name and extra field)
    // starts with a block of the reserved type.
    let data = 30
        + usize::from(u16::from_le_bytes([zip[26], zip[27]]))
        + usize::from(u16::from_le_bytes([zip[28], zip[29]]));
    for byte in &mut bad_data[data..data + 32] {
        *byte = 0xff;
    }
    let truncated = zip[..25].to_vec();
    let junk = b"PK\x03\x04 and nothing of a ZIP after it".to_vec();
    for broken in [bad_data, truncated, junk] {
        let response = import(&app, &ada, "todoist", "backup.zip", broken, false).await;
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["code"], "unreadable_file", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("ZIP"),
            "{body}"
        );
    }
    assert_eq!(all_tasks(&app, &ada).await.len(), 5);
}

/// A Todoist project of `rows` tasks.
fn many_rows(rows: usize) -> Vec<u8> {
    let mut csv = String::from("TYPE,CONTENT,PRIORITY,INDENT,DATE\n");
    for row in 0..rows {
        csv.push_str(&format!("task,Task number {row},4,1,\n"));
    }
    csv.into_bytes()
}

/// One line of a streamed answer, with the read it arrived in.
struct Line {
    read: usize,
    value: Value,
}

/// Imports with `Accept: application/x-ndjson`, reading the answer as it arrives.
async fn streamed(app: &TestApp, user: &TestUser, file: &[u8], dry_run: bool) -> Vec<Line> {
    let form = Form::new()
        .text("source", "todoist")
        .text("dry_run", dry_run.to_string())
        .part("file", Part::bytes(file.to_vec()).file_name("Bulk.csv"));
    let mut response = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&user.token)
        .header("accept", "application/x-ndjson")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let mut lines = Vec::new();
    let mut pending = Vec::new();
    let mut read = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        read += 1;
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            lines.push(Line {
                read,
                value: serde_json::from_slice(&line).unwrap(),
            });
        }
    }
    assert!(pending.is_empty(), "a line without its newline");
    lines
}

async fn progress_lines_stream_before_the_report_which_equals_the_plain_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    const ROWS: u64 = 2_000;
    let file = many_rows(ROWS as usize);

    let lines = streamed(&app, &ada, &file, false).await;
    let (last, progress) = lines.split_last().unwrap();
    assert_eq!(last.value["type"], "report", "{}", last.value);
    assert!(
        progress.len() >= 3,
        "{} progress lines for {ROWS} rows",
        progress.len()
    );
    let mut before = json!({"processed": 0, "counts": {}});
    for line in progress {
        assert_eq!(line.value["type"], "progress", "{}", line.value);
        let now = &line.value;
        assert!(
            now["processed"].as_u64() > before["processed"].as_u64(),
            "{now} after {before}"
        );
        for count in ["rows_read", "tasks_created", "bytes_read"] {
            assert!(
                now["counts"][count].as_u64().unwrap()
                    >= before["counts"][count].as_u64().unwrap_or(0),
                "{count}: {now} after {before}"
            );
        }
        assert!(now["processed"].as_u64().unwrap() <= ROWS);
        before = now.clone();
    }
    // The server sent progress while it worked: lines came in reads before the report's.
    assert!(
        progress[0].read < last.read,
        "every line arrived in the report's read ({})",
        last.read
    );
    let report = &last.value["report"];
    assert_eq!(report["progress"]["tasks_created"], ROWS, "{report}");
    // Every line is what the OpenAPI document says.
    let openapi = openapi_document(&app).await;
    let answers = &openapi["paths"]["/api/v1/imports"]["post"]["responses"]["200"]["content"];
    assert!(answers["application/x-ndjson"].is_object(), "{answers}");
    for line in &lines {
        assert_matches_schema(&openapi, "ImportStreamLine", &line.value);
    }
    assert_eq!(all_tasks(&app, &ada).await.len(), ROWS as usize);

    // The streamed report is the plain answer's body (compared on dry runs of the same file,
    // whose reports hold no new ids).
    let dry_lines = streamed(&app, &bob, &file, true).await;
    let dry_plain = imported(&app, &bob, "todoist", "Bulk.csv", &file, true).await;
    let dry_report = &dry_lines.last().unwrap().value;
    assert_eq!(dry_report["type"], "report");
    assert_eq!(dry_report["report"], dry_plain);
    assert_eq!(dry_plain["progress"]["tasks_created"], ROWS);

    // A file refused before any progress is still a plain problem document.
    let form = Form::new()
        .text("source", "ical")
        .part("file", Part::bytes(b"hello".to_vec()).file_name("x.ics"));
    let refused = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&ada.token)
        .header("accept", "application/x-ndjson")
        .multipart(form)
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
}
