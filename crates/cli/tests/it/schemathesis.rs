//! Schemathesis (not our code) generates requests from the OpenAPI document the server serves
//! and holds every response to it: every phase (examples, boundary coverage, fuzzing, stateful
//! sequences that follow the links between operations) and every check (server errors,
//! undocumented status codes, content types, headers and bodies, schema-valid requests refused,
//! schema-invalid requests accepted, authentication ignored, resources missing after creation or
//! still there after deletion), as a registered user, on both backends. A failure, an error or
//! a warning of any kind fails the test. Settings: `crates/cli/tests/schemathesis.toml`.

use std::path::Path;
use std::process::Stdio;

use crate::helpers::{Backend, TestApp, provided};
use crate::on_both_backends;

on_both_backends!(generated_requests_find_no_failure_against_the_openapi_document);

const EMAIL: &str = "schemathesis@example.org";

async fn generated_requests_find_no_failure_against_the_openapi_document(backend: Backend) {
    let Some(python) = provided("TICKLER_TEST_SCHEMATHESIS_PYTHON") else {
        return;
    };
    // The run signs in again after every signing out it provokes; the login throttle has
    // tests of its own.
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.login_attempts_per_address = 1_000_000;
    })
    .await
    else {
        return;
    };
    app.register(EMAIL).await;
    let work = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let output = tokio::process::Command::new(python)
        .args(["-m", "schemathesis.cli", "--no-color", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--checks", "all", "--report", "junit", "--report-dir"])
        .arg(work.path())
        // Hypothesis and Schemathesis keep their state in the working directory.
        .current_dir(work.path())
        .env("TICKLER_SCHEMATHESIS_EMAIL", EMAIL)
        .env("TICKLER_SCHEMATHESIS_PASSWORD", "correct horse battery")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The summary counts the requests: "Test cases:\n  N generated, N passed, N skipped".
    let generated = stdout
        .lines()
        .find(|line| line.contains(" generated, "))
        .unwrap_or("no count of generated test cases");
    eprintln!("schemathesis on {backend:?}: {}", generated.trim());
}
