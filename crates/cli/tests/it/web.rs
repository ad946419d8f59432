//! The web app in a real browser: Debian's chromium, driven by Playwright for Python
//! (`crates/cli/tests/web_browser.py`), against a real server on a random port. Controls are
//! found by role and accessible name; axe-core checks every screen; the run writes screenshots
//! of the main screens to `docs/screenshots/` (shown in the README).
//!
//! SQLite only: the browser sees the same API on both backends, which the rest of the suite
//! covers; each scenario launches one chromium to keep the phase lean.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::{Backend, TestApp};
use crate::notifications::peers::{SmtpSink, local_notifier};

/// The Python with Playwright and chromium's path; `None` (after a notice) when either is
/// missing, unless `TICKLER_REQUIRE_SERVICES=1`, which makes that a failure.
fn browser_environment() -> Option<(String, String)> {
    let python = std::env::var("TICKLER_TEST_PYTHON")
        .ok()
        .filter(|v| !v.is_empty());
    let chromium = std::env::var("TICKLER_TEST_CHROMIUM")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| {
            std::path::Path::new("/usr/bin/chromium")
                .exists()
                .then(|| "/usr/bin/chromium".to_owned())
        });
    match (python, chromium) {
        (Some(python), Some(chromium)) => Some((python, chromium)),
        _ => {
            assert!(
                std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "the browser tests need TICKLER_TEST_PYTHON and chromium (TICKLER_TEST_CHROMIUM)"
            );
            eprintln!("skipped: set TICKLER_TEST_PYTHON (with playwright) and install chromium");
            None
        }
    }
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
}

/// Runs one scenario of the browser driver against `app`.
async fn run_scenario(app: &TestApp, scenario: &str) {
    run_scenario_with(app, scenario, &[]).await;
}

/// Runs one scenario of the browser driver against `app`, with arguments of its own.
async fn run_scenario_with(app: &TestApp, scenario: &str, arguments: &[&std::ffi::OsStr]) {
    let Some((python, chromium)) = browser_environment() else {
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web_browser.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(scenario)
        .arg("--base")
        .arg(&app.base)
        .arg("--screenshots")
        .arg(screenshots())
        .args(arguments)
        .env("TICKLER_TEST_CHROMIUM", chromium);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "browser scenario {scenario} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sign-up, quick add with the parser's highlighting, editing every field of a task, the XSS
/// title, keyboard-only completion, search and filters, settings, dark mode and the 360 px
/// layout, each screen checked by axe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_up_adds_edits_and_completes_tasks_in_the_browser() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    run_scenario(&app, "tasks").await;
}

/// The task panel's recurrence preview while a rule is chosen or typed, undo of reopening and
/// deleting, sorting, the settings (time zone, a channel disabled and enabled, a webhook secret
/// rotated, a token revoked, signing out everywhere with another browser signed in), and axe on
/// the sign-in screen, Upcoming and search results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_previews_rules_undoes_sorts_and_manages_settings_in_the_browser() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    run_scenario(&app, "manage").await;
}

/// The assistant in English, Urdu script and Roman Urdu, clarification choices as buttons,
/// the conversation kept, and the whole interface in Urdu, mirrored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assistant_answers_in_english_and_urdu_in_the_browser() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    run_scenario(&app, "chat").await;
}

/// Changes from the REST API, another window and the recurring service appear live; the app
/// reconnects with its cursor after a network drop; a firing reminder shows a toast. Needs the
/// `realtime` role's `/api/v1/live`; skipped (with a notice) by a build without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_anywhere_appear_live_in_the_browser() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let live = app
        .client
        .get(app.url("/api/v1/live"))
        .send()
        .await
        .unwrap();
    let body = live.text().await.unwrap_or_default();
    if body.contains("route_not_found") {
        eprintln!("skipped: this build has no /api/v1/live (the realtime role)");
        return;
    }
    run_scenario(&app, "live").await;
}

/// An e-mail channel added in Settings waits for the code mailed to it (received by a real
/// SMTP server, aiosmtpd): a wrong code is refused beside the field, the mailed one verifies
/// the address, and a code used up by wrong guesses asks for a new one, which is mailed and
/// works; each state checked by axe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_is_verified_in_the_browser_with_the_code_mailed_to_it() {
    let Some((python, _)) = browser_environment() else {
        return;
    };
    let smtp = SmtpSink::start(&python);
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |config| {
        local_notifier(config);
        smtp.configure(config);
    })
    .await
    else {
        return;
    };
    run_scenario_with(
        &app,
        "email",
        &["--mail".as_ref(), smtp.mail_file().as_os_str()],
    )
    .await;
}
