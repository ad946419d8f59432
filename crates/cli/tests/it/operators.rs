//! Operator rights: granted and revoked only on the server's database with `tickler admin`
//! (run here as a real process, on both stores), never by registering an address.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, TestUser, eventually, problem};

const DEAD_LETTERS: &str = "/api/v1/admin/dead-letters";

/// Waits until the operator route answers `status` to `user` (the server caches an account
/// for a few seconds, so a change made by another process shows within that time).
async fn operator_route_answers(app: &TestApp, user: &TestUser, status: StatusCode) {
    eventually(15, || async {
        (app.get(user, DEAD_LETTERS).await.status() == status).then_some(())
    })
    .await;
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "tickler admin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

async fn operator_rights_come_only_from_tickler_admin(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The first account registered with the address an operator would use gets nothing.
    let ops = app.register("ops@example.org").await;
    let body = problem(app.get(&ops, DEAD_LETTERS).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "admin_required");
    assert!(stdout(&app.admin(&["list"])).ends_with("0 operator(s)\n"));

    let granted = stdout(&app.admin(&["grant", "OPS@example.org"]));
    assert!(granted.contains("granted to ops@example.org"), "{granted}");
    operator_route_answers(&app, &ops, StatusCode::OK).await;
    let listed = stdout(&app.admin(&["list"]));
    assert!(
        listed.contains(&format!("{}\tops@example.org", ops.id)),
        "{listed}"
    );
    assert!(listed.ends_with("1 operator(s)\n"), "{listed}");
    // Someone else still gets nothing.
    let ada = app.register("ada@example.org").await;
    problem(app.get(&ada, DEAD_LETTERS).await, StatusCode::FORBIDDEN).await;

    stdout(&app.admin(&["revoke", "ops@example.org"]));
    operator_route_answers(&app, &ops, StatusCode::FORBIDDEN).await;
    // Both changes are in the account's audit trail, made by the system.
    let trail: Value = app
        .get(&ops, "/api/v1/audit?limit=500")
        .await
        .json()
        .await
        .unwrap();
    let changes: Vec<(&str, &str)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| {
            item["type"]
                .as_str()
                .unwrap()
                .starts_with("tickler.account.operator_")
        })
        .map(|item| {
            (
                item["type"].as_str().unwrap(),
                item["origin"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes.len(),
        2,
        "one row for the grant and one for the revoke: {trail}"
    );
    for expected in [
        "tickler.account.operator_granted",
        "tickler.account.operator_revoked",
    ] {
        assert!(
            changes.contains(&(expected, "system")),
            "{expected} missing: {trail}"
        );
    }
    assert!(stdout(&app.admin(&["list"])).ends_with("0 operator(s)\n"));

    // An address nobody registered is an error, not a grant waiting for its registration.
    let unknown = app.admin(&["grant", "nobody@example.org"]);
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("no account has the e-mail address nobody@example.org"),
        "{message}"
    );
    let late = app.register("nobody@example.org").await;
    problem(app.get(&late, DEAD_LETTERS).await, StatusCode::FORBIDDEN).await;
}

crate::on_both_backends!(operator_rights_come_only_from_tickler_admin);

#[test]
fn the_removed_admin_emails_setting_stops_startup_with_what_to_do_instead() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tickler"))
        .arg("config")
        .env("TICKLER_AUTH__ADMIN_EMAILS", "ops@example.org")
        .env_remove("TICKLER_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("auth.admin_emails"), "{message}");
    assert!(message.contains("tickler admin grant EMAIL"), "{message}");
}
