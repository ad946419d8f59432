//! The command-line client end to end: the real `tickler` binary, with a config directory of
//! its own, against a real server on a socket; piped, and in a pseudo-terminal for what a
//! person at a terminal sees (colour, the password prompt, the interactive chat).

use std::os::unix::fs::PermissionsExt as _;

use chrono::{DateTime, Duration, Timelike as _, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser};
use crate::terminal::{ClientEnv, Finished};

const PASSWORD: &str = "correct horse battery";

crate::on_both_backends!(an_id_prefix_resolves_to_the_callers_one_task_or_names_the_candidates);

/// Registers `email` in `zone` and logs the client in with e-mail and password (piped).
async fn logged_in(app: &TestApp, email: &str, zone: &str) -> (ClientEnv, TestUser) {
    let user = app.register_in(email, zone).await;
    let mut env = ClientEnv::new();
    env.zone = zone.to_owned();
    let login = env
        .run_with_input(
            &["login", "--server", &app.base, "--email", email],
            &format!("{PASSWORD}\n"),
        )
        .await;
    assert_eq!(login.code, 0, "{login:?}");
    (env, user)
}

fn ok(finished: &Finished) -> &str {
    assert_eq!(finished.code, 0, "{finished:?}");
    &finished.stdout
}

fn now() -> DateTime<Utc> {
    chrono::DateTime::from_timestamp_micros(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64,
    )
    .unwrap()
}

/// A fixed-offset zone where it is now between 11:00 and 13:00, so that "today" has hours
/// on both sides of now.
fn midday_zone() -> String {
    let offset = 12 - i64::from(now().hour());
    // POSIX `Etc/GMT` zones have inverted signs: Etc/GMT-5 is five hours ahead of UTC.
    let offset = if offset > 12 { offset - 24 } else { offset };
    if offset >= 0 {
        format!("Etc/GMT-{offset}")
    } else {
        format!("Etc/GMT+{}", -offset)
    }
}

async fn task_json(app: &TestApp, user: &TestUser, id: &str) -> (StatusCode, Value) {
    let response = app.get(user, &format!("/api/v1/tasks/{id}")).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn an_id_prefix_resolves_to_the_callers_one_task_or_names_the_candidates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    let first = app.create_task(&ada, json!({"title": "first"})).await;
    let second = app.create_task(&ada, json!({"title": "second"})).await;
    let theirs = app.create_task(&grace, json!({"title": "theirs"})).await;
    let first_id = first["id"].as_str().unwrap();
    let second_id = second["id"].as_str().unwrap();
    let common = first_id
        .chars()
        .zip(second_id.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let unique = &first_id[..common + 1];
    let response = app
        .get(
            &ada,
            &format!("/api/v1/tasks/resolve/{}", unique.to_uppercase()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("etag"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, first);
    if common > 0 {
        let shared = &first_id[..common];
        let response = app
            .get(&ada, &format!("/api/v1/tasks/resolve/{shared}"))
            .await;
        let problem = crate::helpers::problem(response, StatusCode::CONFLICT).await;
        assert_eq!(problem["code"], "ambiguous_task_id");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(first_id) && detail.contains(second_id),
            "{detail}"
        );
        assert!(!detail.contains("theirs"), "{detail}");
    }
    // Another user's task, and what is not a hex prefix, name nothing.
    let theirs_id = theirs["id"].as_str().unwrap();
    for prefix in [
        theirs_id,
        "zz",
        "0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0",
    ] {
        let response = app
            .get(&ada, &format!("/api/v1/tasks/resolve/{prefix}"))
            .await;
        let problem = crate::helpers::problem(response, StatusCode::NOT_FOUND).await;
        assert_eq!(problem["code"], "task_not_found", "{prefix}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_keeps_a_token_only_its_owner_can_read_and_logging_out_revokes_it() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, _user) = logged_in(&app, "ada@example.org", "UTC").await;
    let file = env.client_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "client.toml must be private");
    let stored: toml::Table = std::fs::read_to_string(&file).unwrap().parse().unwrap();
    assert_eq!(stored["server"].as_str(), Some(app.base.as_str()));
    let token = stored["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tkl_"), "a personal API token: {token}");
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let logout = env.run(&["logout"]).await;
    assert!(ok(&logout).contains("logged out"), "{logout:?}");
    assert!(!file.exists());
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the token is revoked"
    );
    let after = env.run(&["ls"]).await;
    assert_eq!(after.code, 1);
    assert_eq!(
        after.stderr.trim(),
        "tickler: not logged in: run tickler login"
    );

    let wrong = env
        .run_with_input(
            &["login", "--server", &app.base, "--email", "ada@example.org"],
            "not the password\n",
        )
        .await;
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("wrong e-mail address or password"),
        "{wrong:?}"
    );
    assert!(!file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_a_terminal_asks_for_the_password_without_echoing_it() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.register("ada@example.org").await;
    let env = ClientEnv::new();
    let mut terminal = env.spawn_in_terminal(&["login", "--server", &app.base]);
    let at = terminal.expect("e-mail: ", 0).await;
    terminal.type_line("ada@example.org");
    let at = terminal.expect("password: ", at).await;
    terminal.type_line(PASSWORD);
    terminal.expect("logged in to", at).await;
    let (code, screen) = terminal.finish().await;
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("ada@example.org"),
        "the e-mail is echoed: {screen}"
    );
    assert!(
        !screen.contains(PASSWORD),
        "the password is echoed: {screen}"
    );
    assert!(env.client_file().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_add_prints_what_was_understood_in_local_time() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, user) = logged_in(&app, "ada@example.org", "Asia/Karachi").await;
    let added = env
        .run(&[
            "add",
            "call the dentist tomorrow at 9am every day #health p1 remind me 30 minutes before",
        ])
        .await;
    let text = ok(&added);
    for expected in [
        "call the dentist",
        "tomorrow 09:00",
        "Asia/Karachi",
        "every day",
        "30 minutes before",
        "#health",
        "urgent",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains('\u{1b}'), "piped output is plain:\n{text}");

    let added = env.run(&["--json", "add", "buy milk #shop"]).await;
    let body: Value = serde_json::from_str(ok(&added)).unwrap();
    let (status, stored) = task_json(&app, &user, body["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, stored, "--json prints the API's task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_filters_and_prints_a_plain_table_when_piped() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let zone = midday_zone();
    let (env, user) = logged_in(&app, "ada@example.org", &zone).await;
    let now = now();
    let at = |delta: Duration| (now + delta).to_rfc3339();
    let overdue = app
        .create_task(&user, json!({"title": "renew the licence", "due_at": at(Duration::days(-2)), "priority": "high"}))
        .await;
    let today = app
        .create_task(&user, json!({"title": "call the plumber", "due_at": at(Duration::minutes(90)), "tags": ["home"]}))
        .await;
    let later = app
        .create_task(
            &user,
            json!({"title": "book flights", "due_at": at(Duration::days(3)), "tags": ["travel"]}),
        )
        .await;
    let done = app
        .create_task(&user, json!({"title": "water plants"}))
        .await;
    app.post(
        &user,
        &format!("/api/v1/tasks/{}/complete", done["id"].as_str().unwrap()),
        &json!({}),
    )
    .await;
    let titles = |finished: &Finished| -> Vec<String> {
        let text = ok(finished);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        assert!(
            header.starts_with("ID") && header.contains("DUE") && header.contains("TITLE"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "piped output is plain:\n{text}");
        let mut found = Vec::new();
        for line in lines {
            for title in [
                "renew the licence",
                "call the plumber",
                "book flights",
                "water plants",
            ] {
                if line.contains(title) {
                    found.push(title.to_owned());
                }
            }
        }
        found
    };
    assert_eq!(
        titles(&env.run(&["ls"]).await),
        ["renew the licence", "call the plumber", "book flights"]
    );
    assert_eq!(
        titles(&env.run(&["ls", "--today"]).await),
        ["call the plumber"]
    );
    assert_eq!(
        titles(&env.run(&["ls", "--overdue"]).await),
        ["renew the licence"]
    );
    assert_eq!(
        titles(&env.run(&["ls", "--upcoming"]).await),
        ["call the plumber", "book flights"]
    );
    assert_eq!(titles(&env.run(&["ls", "--done"]).await), ["water plants"]);
    assert_eq!(
        titles(&env.run(&["ls", "--tag", "travel"]).await),
        ["book flights"]
    );
    assert_eq!(
        titles(&env.run(&["ls", "--priority", "high"]).await),
        ["renew the licence"]
    );
    assert_eq!(
        titles(&env.run(&["ls", "--search", "plumb"]).await),
        ["call the plumber"]
    );
    assert_eq!(titles(&env.run(&["ls", "--limit", "1"]).await).len(), 1);

    // Relative dates in local time.
    let table = env.run(&["ls"]).await;
    let text = ok(&table);
    assert!(text.contains("2 days ago"), "{text}");
    let plumber = text
        .lines()
        .find(|line| line.contains("call the plumber"))
        .unwrap();
    assert!(
        plumber.contains("in 1h") || plumber.contains("today"),
        "{plumber}"
    );
    let id = today["id"].as_str().unwrap();
    assert!(
        plumber.starts_with(&id[..8]),
        "rows start with the id prefix: {plumber}"
    );
    let _ = (overdue, later);

    // --json is the API's page.
    let listed = env.run(&["--json", "ls", "--tag", "home"]).await;
    let page: Value = serde_json::from_str(ok(&listed)).unwrap();
    assert_eq!(page["items"][0]["id"], today["id"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let usage = env.run(&["ls", "--today", "--overdue"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");
    let usage = env.run(&["ls", "--priority", "huge"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_in_a_terminal_is_coloured_unless_no_color_is_set() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (mut env, user) = logged_in(&app, "ada@example.org", "UTC").await;
    let due = (now() - Duration::days(1)).to_rfc3339();
    app.create_task(
        &user,
        json!({"title": "overdue thing", "due_at": due, "priority": "urgent", "tags": ["x"]}),
    )
    .await;
    let terminal = env.spawn_in_terminal(&["ls"]);
    terminal.expect("overdue thing", 0).await;
    let (code, screen) = terminal.finish().await;
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("\u{1b}[1;31m"),
        "overdue and urgent are red:\n{screen:?}"
    );
    assert!(
        screen.contains("\u{1b}[36m#x"),
        "tags are cyan:\n{screen:?}"
    );

    env.extra.push(("NO_COLOR".into(), "1".into()));
    let terminal = env.spawn_in_terminal(&["ls"]);
    terminal.expect("overdue thing", 0).await;
    let (code, screen) = terminal.finish().await;
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains('\u{1b}'),
        "NO_COLOR is honoured:\n{screen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_any_unique_prefix_and_an_ambiguous_one_lists_the_candidates() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, user) = logged_in(&app, "ada@example.org", "UTC").await;
    let first = app.create_task(&user, json!({"title": "first task"})).await;
    let second = app
        .create_task(&user, json!({"title": "second task"}))
        .await;
    let first_id = first["id"].as_str().unwrap();
    let second_id = second["id"].as_str().unwrap();
    let common = first_id
        .chars()
        .zip(second_id.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let shown = env.run(&["show", &first_id[..common + 1]]).await;
    assert!(ok(&shown).contains("first task"), "{shown:?}");

    let ambiguous = env.run(&["show", &first_id[..common.max(1)]]).await;
    if common > 0 {
        assert_eq!(ambiguous.code, 4, "{ambiguous:?}");
        let line = ambiguous.stderr.trim();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        assert!(line.contains("ambiguous"), "{line}");
        assert!(
            line.contains(first_id) && line.contains(second_id),
            "{line}"
        );
        assert!(
            line.contains("first task") && line.contains("second task"),
            "{line}"
        );
    }

    let missing = env.run(&["show", "ffffffff"]).await;
    assert_eq!(missing.code, 3, "{missing:?}");
    assert_eq!(
        missing.stderr.trim(),
        "tickler: no task id starts with \"ffffffff\""
    );
    let other = app.register("grace@example.org").await;
    let theirs = app.create_task(&other, json!({"title": "theirs"})).await;
    let theirs = env.run(&["show", theirs["id"].as_str().unwrap()]).await;
    assert_eq!(
        theirs.code, 3,
        "another user's task is not found: {theirs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_reopen_edit_and_rm_change_the_task() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, user) = logged_in(&app, "ada@example.org", "Asia/Karachi").await;
    let task = app
        .create_task(&user, json!({"title": "draft", "tags": ["old", "keep"]}))
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let prefix = &id[..13];

    ok(&env.run(&["done", prefix]).await);
    assert_eq!(task_json(&app, &user, &id).await.1["status"], "done");
    ok(&env.run(&["reopen", prefix]).await);
    assert_eq!(task_json(&app, &user, &id).await.1["status"], "todo");

    let edited = env
        .run(&[
            "edit",
            prefix,
            "--title",
            "final draft",
            "--due",
            "2030-01-07 9am",
            "--priority",
            "high",
            "--tag",
            "work",
            "--untag",
            "old",
            "--every",
            "monday",
            "--remind",
            "30m",
            "--remind",
            "1d",
        ])
        .await;
    let text = ok(&edited);
    assert!(
        text.contains("every Monday") && text.contains("30 minutes before"),
        "{text}"
    );
    let (_, stored) = task_json(&app, &user, &id).await;
    assert_eq!(stored["title"], "final draft");
    assert_eq!(stored["due_at"], "2030-01-07T04:00:00Z", "9am in Karachi");
    assert_eq!(stored["priority"], "high");
    assert_eq!(stored["tags"], json!(["keep", "work"]));
    assert_eq!(stored["recurrence"], "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(stored["reminders"], json!(["-PT30M", "-P1D"]));

    let nothing = env.run(&["edit", prefix]).await;
    assert_eq!(nothing.code, 2, "{nothing:?}");
    let bad_due = env.run(&["edit", prefix, "--due", "whenever"]).await;
    assert_eq!(bad_due.code, 2, "{bad_due:?}");
    let invalid = env
        .run(&["edit", prefix, "--title", &"x".repeat(600)])
        .await;
    assert_eq!(
        invalid.code, 2,
        "the server's 422 is a usage error: {invalid:?}"
    );
    assert_eq!(invalid.stderr.lines().count(), 1, "{invalid:?}");

    let declined = env.run_with_input(&["rm", prefix], "n\n").await;
    assert_eq!(declined.code, 1, "{declined:?}");
    assert!(declined.stderr.contains("delete"), "it asks: {declined:?}");
    assert_eq!(task_json(&app, &user, &id).await.0, StatusCode::OK);
    let confirmed = env.run_with_input(&["rm", prefix, "--series"], "y\n").await;
    ok(&confirmed);
    assert_eq!(task_json(&app, &user, &id).await.0, StatusCode::NOT_FOUND);

    let other = app.create_task(&user, json!({"title": "gone soon"})).await;
    let other_id = other["id"].as_str().unwrap();
    let removed = env.run(&["--json", "rm", "--yes", other_id]).await;
    let answer: Value = serde_json::from_str(ok(&removed)).unwrap();
    assert_eq!(answer, json!({"id": other_id, "deleted": true}));
    let again = env.run(&["rm", "--yes", other_id]).await;
    assert_eq!(again.code, 3, "{again:?}");

    // Several ids: each is done, and a missing one makes the exit code 3.
    let a = app.create_task(&user, json!({"title": "a"})).await;
    let b = app.create_task(&user, json!({"title": "b"})).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let several = env.run(&["done", a, "ffffffff", b]).await;
    assert_eq!(several.code, 3, "{several:?}");
    assert_eq!(task_json(&app, &user, a).await.1["status"], "done");
    assert_eq!(task_json(&app, &user, b).await.1["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snoozing_moves_a_reminder_and_a_closed_one_is_a_conflict() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, user) = logged_in(&app, "ada@example.org", "UTC").await;
    let due = (now() + Duration::days(2)).to_rfc3339();
    let task = app
        .create_task(
            &user,
            json!({"title": "dentist", "due_at": due, "reminders": ["-PT30M"]}),
        )
        .await;
    let task_id = task["id"].as_str().unwrap();
    let reminders: Value = crate::helpers::eventually(30, || async {
        let list: Value = app
            .get(&user, "/api/v1/reminders?upcoming=true")
            .await
            .json()
            .await
            .unwrap();
        (!list["items"].as_array().unwrap().is_empty()).then_some(list)
    })
    .await;
    let reminder_id = reminders["items"][0]["id"].as_str().unwrap().to_owned();
    let shown = env.run(&["show", task_id]).await;
    assert!(
        ok(&shown).contains(&reminder_id),
        "show lists the reminder ids: {shown:?}"
    );

    let before = now();
    let snoozed = env
        .run(&["--json", "snooze", &reminder_id[..30], "10m"])
        .await;
    let body: Value = serde_json::from_str(ok(&snoozed)).unwrap();
    assert_eq!(body["id"], reminder_id.as_str());
    let fire_at: DateTime<Utc> = body["fire_at"].as_str().unwrap().parse().unwrap();
    assert!(
        fire_at >= before + Duration::minutes(10) && fire_at <= now() + Duration::minutes(10),
        "fires ten minutes after the command: {fire_at}"
    );
    let bad = env.run(&["snooze", &reminder_id, "soon"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");

    ok(&env.run(&["done", task_id]).await);
    let closed = env.run(&["snooze", &reminder_id, "10m"]).await;
    assert_eq!(closed.code, 4, "the reminder of a done task: {closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_one_line_with_their_exit_code_and_env_overrides_the_file() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (mut env, user) = logged_in(&app, "ada@example.org", "UTC").await;
    app.create_task(&user, json!({"title": "ada's"})).await;
    let grace = app.register("grace@example.org").await;
    app.create_task(&grace, json!({"title": "grace's"})).await;

    let usage = env.run(&["ls", "--no-such-flag"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");

    // TICKLER_TOKEN overrides the stored token: grace's tasks.
    let listed = env
        .run_with_env(("TICKLER_TOKEN", &grace.token), &["ls"])
        .await;
    let text = ok(&listed);
    assert!(
        text.contains("grace's") && !text.contains("ada's"),
        "{text}"
    );

    // TICKLER_SERVER overrides the stored server.
    let unreachable = env
        .run_with_env(("TICKLER_SERVER", "http://127.0.0.1:1"), &["ls"])
        .await;
    assert_eq!(unreachable.code, 1, "{unreachable:?}");
    assert_eq!(
        unreachable.stderr.trim(),
        "tickler: server unreachable at http://127.0.0.1:1"
    );

    let refused = env
        .run_with_env(("TICKLER_TOKEN", "tkl_not_a_token"), &["ls"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.trim().ends_with("run tickler login"),
        "{refused:?}"
    );
    assert_eq!(refused.stderr.lines().count(), 1, "{refused:?}");
    assert!(!refused.stderr.contains("panicked"), "{refused:?}");

    // Without a file, both variables make a login.
    let fresh = ClientEnv {
        extra: vec![
            ("TICKLER_SERVER".into(), app.base.clone()),
            ("TICKLER_TOKEN".into(), user.token.clone()),
        ],
        ..ClientEnv::new()
    };
    assert!(ok(&fresh.run(&["ls"]).await).contains("ada's"));

    for shell in ["bash", "zsh", "fish"] {
        let script = env.run(&["completions", shell]).await;
        let text = ok(&script);
        assert!(
            text.contains("tickler") && text.contains("snooze"),
            "{shell}: {text}"
        );
    }
    let unknown = env.run(&["completions", "tcsh"]).await;
    assert_eq!(unknown.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_answers_one_message_or_holds_a_session_in_a_terminal() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, user) = logged_in(&app, "ada@example.org", "UTC").await;
    let one = env.run(&["chat", "buy bread tomorrow at 5pm"]).await;
    let reply = ok(&one);
    assert!(reply.contains("buy bread"), "{reply}");
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"][0]["title"], "buy bread");

    let json_reply = env.run(&["--json", "chat", "show my tasks"]).await;
    let body: Value = serde_json::from_str(ok(&json_reply)).unwrap();
    assert!(
        body["conversation_id"].is_string() && body["reply"].is_string(),
        "{body}"
    );

    let mut terminal = env.spawn_in_terminal(&["chat"]);
    let at = terminal.expect("you> ", 0).await;
    terminal.type_line("water the plants on friday");
    let at = terminal
        .expect("water the plants", at + "water the plants on friday".len())
        .await;
    let at = terminal.expect("you> ", at).await;
    terminal.type_line("show my tasks");
    let at = terminal.expect("buy bread", at).await;
    terminal.expect("you> ", at).await;
    terminal.type_line("exit");
    let (code, screen) = terminal.finish().await;
    assert_eq!(code, 0, "{screen}");
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"water the plants"), "{titles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_prints_each_change_as_it_happens() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (env, user) = logged_in(&app, "ada@example.org", "UTC").await;
    if app.get(&user, "/api/v1/live").await.status() == StatusCode::NOT_FOUND {
        eprintln!("skipped: this server has no live stream (GET /api/v1/live)");
        let tail = env.run(&["tail"]).await;
        assert_eq!(tail.code, 3, "{tail:?}");
        assert!(tail.stderr.contains("has no live stream"), "{tail:?}");
        return;
    }
    let terminal = env.spawn_in_terminal(&["tail"]);
    let at = terminal.expect("following changes", 0).await;
    let task = app
        .create_task(&user, json!({"title": "watched task"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let at = terminal
        .expect(&format!("created    {id}  watched task"), at)
        .await;
    app.patch(
        &user,
        &format!("/api/v1/tasks/{id}"),
        &json!({"priority": "high"}),
    )
    .await;
    terminal.expect("(priority)", at).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_a_token_checks_it_and_keeps_an_existing_file_private() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let user = app.register("ada@example.org").await;
    let env = ClientEnv::new();
    let refused = env
        .run(&["login", "--server", &app.base, "--token", "tkl_wrong"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr.lines().count(), 1, "{refused:?}");
    assert!(!env.client_file().exists(), "a refused token is not kept");

    // A file left readable by others is made private before the token is written.
    std::fs::create_dir_all(env.client_file().parent().unwrap()).unwrap();
    std::fs::write(env.client_file(), "").unwrap();
    std::fs::set_permissions(env.client_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let login = env
        .run(&[
            "--json",
            "login",
            "--server",
            &app.base,
            "--token",
            &user.token,
        ])
        .await;
    let answer: Value = serde_json::from_str(ok(&login)).unwrap();
    assert_eq!(answer["user"]["email"], "ada@example.org");
    let mode = std::fs::metadata(env.client_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    app.create_task(&user, json!({"title": "mine"})).await;
    assert!(ok(&env.run(&["ls"]).await).contains("mine"));
    let bad_server = env
        .run(&["login", "--server", "ftp://example.org", "--token", "x"])
        .await;
    assert_eq!(bad_server.code, 2, "{bad_server:?}");
}
