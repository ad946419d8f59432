//! E-mail channels are verified before anything is sent to them: a code mailed to the address
//! (received by aiosmtpd), posted back by the owner; rate-limited verification mails; on both
//! databases.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_app::{Clock as _, SystemClock};

use super::peers::{
    SmtpSink, fire_reminder, local_notifier, python, verification_mail, verified_email_channel,
};
use crate::helpers::{Backend, TestApp, TestUser, eventually, problem};

crate::on_both_backends!(
    an_email_channel_gets_nothing_but_its_code_until_the_owner_posts_it,
    wrong_codes_use_a_code_up_and_a_new_code_replaces_it,
    verification_mails_are_limited_per_user_and_per_address,
);

const CHANNELS: &str = "/api/v1/notification-channels";

async fn create_email_channel(app: &TestApp, user: &TestUser, address: &str) -> Value {
    let response = app
        .post(
            user,
            CHANNELS,
            &json!({"kind": "email", "address": address}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn verify(app: &TestApp, user: &TestUser, channel: &Value, code: &str) -> reqwest::Response {
    let id = channel["id"].as_str().unwrap();
    app.post(
        user,
        &format!("{CHANNELS}/{id}/verify"),
        &json!({"code": code}),
    )
    .await
}

async fn resend(app: &TestApp, user: &TestUser, channel: &Value) -> reqwest::Response {
    let id = channel["id"].as_str().unwrap();
    app.post(user, &format!("{CHANNELS}/{id}/verification"), &json!({}))
        .await
}

/// The kinds of the deliveries of the user's `nth` notification (from 1), once settled.
async fn delivery_kinds(app: &TestApp, user: &TestUser, count: usize) -> Vec<String> {
    let notifications = eventually(20, || async {
        let page: Value = app
            .get(user, "/api/v1/notifications")
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap().clone();
        (items.len() >= count).then_some(items)
    })
    .await;
    let id = notifications[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/notifications/{id}/deliveries");
    let deliveries = eventually(20, || async {
        let list: Value = app.get(user, &path).await.json().await.unwrap();
        let list = list.as_array().unwrap().clone();
        list.iter()
            .all(|d| d["status"] != "pending")
            .then_some(list)
    })
    .await;
    deliveries
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["channel_kind"].as_str().unwrap(),
                d["status"].as_str().unwrap()
            )
        })
        .collect()
}

async fn an_email_channel_gets_nothing_but_its_code_until_the_owner_posts_it(backend: Backend) {
    let Some(python) = python() else { return };
    let smtp = SmtpSink::start(&python);
    let Some(app) = TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        smtp.configure(config);
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let channel = create_email_channel(&app, &ada, "Grace@Example.org").await;
    assert_eq!(channel["verification"], "pending");
    let (mail, code) = verification_mail(&smtp, "grace@example.org", 1).await;
    // Nothing the requester chose is in a header: a bare recipient, a fixed subject.
    assert_eq!(mail["to"], "grace@example.org");
    assert_eq!(mail["from"], "tickler <tickler@example.org>");
    assert_eq!(mail["content_type"], "text/plain");
    assert_eq!(code.len(), 8);

    // A reminder while pending: in-app only, nothing mailed.
    fire_reminder(&app, &ada, "Pay rent", SystemClock.now()).await;
    assert_eq!(delivery_kinds(&app, &ada, 1).await, ["in_app:delivered"]);
    assert_eq!(smtp.messages().len(), 1, "a pending address got mail");

    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let body = problem(
        verify(&app, &ada, &channel, wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "verification_code_invalid");
    // Another user cannot verify it, even with the code.
    let mallory = app.register("mallory@example.org").await;
    problem(
        verify(&app, &mallory, &channel, &code).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let typed = format!("{} {}", &code[..4], &code[4..]);
    let response = verify(&app, &ada, &channel, &typed).await;
    assert_eq!(response.status(), StatusCode::OK);
    let verified: Value = response.json().await.unwrap();
    assert_eq!(verified["verification"], "verified");
    // The verification is in the audit trail once: the wrong code and mallory's try wrote
    // nothing.
    let trail: Value = app
        .get(&ada, "/api/v1/audit?limit=500")
        .await
        .json()
        .await
        .unwrap();
    let rows: Vec<&Value> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "tickler.channel.verified")
        .collect();
    assert_eq!(rows.len(), 1, "{trail}");
    assert_eq!(rows[0]["data"]["channel_id"], channel["id"]);
    // The code is spent.
    let body = problem(
        verify(&app, &ada, &channel, &code).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["code"], "channel_already_verified");

    fire_reminder(&app, &ada, "Pay rent again", SystemClock.now()).await;
    assert_eq!(
        delivery_kinds(&app, &ada, 2).await,
        ["in_app:delivered", "email:delivered"]
    );
    let reminder = eventually(20, || async { smtp.messages().into_iter().nth(1) }).await;
    assert_eq!(reminder["rcpt_tos"], json!(["grace@example.org"]));

    // A new address is pending again, and gets its own code.
    let id = channel["id"].as_str().unwrap();
    let changed: Value = app
        .patch(
            &ada,
            &format!("{CHANNELS}/{id}"),
            &json!({"address": "ada@example.org"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["verification"], "pending");
    verification_mail(&smtp, "ada@example.org", 1).await;
    // Channels of other kinds need no verification.
    let in_app: Value = app.get(&ada, CHANNELS).await.json().await.unwrap();
    assert!(in_app[0].get("verification").is_none(), "{in_app}");
    let body = problem(
        verify(&app, &ada, &in_app[0], "12345678").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["code"], "channel_needs_no_verification");
}

async fn wrong_codes_use_a_code_up_and_a_new_code_replaces_it(backend: Backend) {
    let Some(python) = python() else { return };
    let smtp = SmtpSink::start(&python);
    let Some(app) = TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        smtp.configure(config);
        config.notifier.verification_max_failures = 2;
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let channel = create_email_channel(&app, &ada, "ada@example.org").await;
    let (_, first) = verification_mail(&smtp, "ada@example.org", 1).await;
    let wrong = if first == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for _ in 0..2 {
        problem(
            verify(&app, &ada, &channel, wrong).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let body = problem(
        verify(&app, &ada, &channel, &first).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["code"], "verification_code_expired");

    let response = resend(&app, &ada, &channel).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (_, second) = verification_mail(&smtp, "ada@example.org", 2).await;
    if second != first {
        // The first code no longer works (a new code replaced it).
        problem(
            verify(&app, &ada, &channel, &first).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    assert_eq!(
        verify(&app, &ada, &channel, &second).await.status(),
        StatusCode::OK
    );
    let body = problem(resend(&app, &ada, &channel).await, StatusCode::CONFLICT).await;
    assert_eq!(body["code"], "channel_already_verified");
}

async fn verification_mails_are_limited_per_user_and_per_address(backend: Backend) {
    let Some(python) = python() else { return };
    let smtp = SmtpSink::start(&python);
    let Some(app) = TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        smtp.configure(config);
        config.notifier.verification_mails_per_user = 3;
        config.notifier.verification_mails_per_address = 2;
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let mallory = app.register("mallory@example.org").await;
    // Per address, whoever asks: two mails to victim@ a day.
    let channel = create_email_channel(&app, &mallory, "victim@example.org").await;
    assert_eq!(
        resend(&app, &mallory, &channel).await.status(),
        StatusCode::ACCEPTED
    );
    let refused = resend(&app, &mallory, &channel).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (23 * 3600..=24 * 3600).contains(&retry_after),
        "{retry_after}"
    );
    let body = problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "verification_mail_limit");
    let refused = app
        .post(
            &ada,
            CHANNELS,
            &json!({"kind": "email", "address": "victim@example.org"}),
        )
        .await;
    assert!(refused.headers().contains_key("retry-after"));
    problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    let listed: Value = app.get(&ada, CHANNELS).await.json().await.unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "a refused channel was stored: {listed}"
    );

    // Per user: Mallory's third mail (to another address) is her last this hour.
    create_email_channel(&app, &mallory, "other@example.org").await;
    let refused = app
        .post(
            &mallory,
            CHANNELS,
            &json!({"kind": "email", "address": "third@example.org"}),
        )
        .await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    problem(refused, StatusCode::TOO_MANY_REQUESTS).await;

    // Exactly the mails allowed went out.
    eventually(20, || async { (smtp.messages().len() >= 3).then_some(()) }).await;
    let recipients: Vec<Value> = smtp
        .messages()
        .iter()
        .map(|m| m["rcpt_tos"][0].clone())
        .collect();
    assert_eq!(
        recipients
            .iter()
            .filter(|r| **r == "victim@example.org")
            .count(),
        2,
        "{recipients:?}"
    );
    assert_eq!(recipients.len(), 3, "{recipients:?}");
    // Ada is not limited by Mallory's mails.
    verified_email_channel(&app, &ada, &smtp, "ada@example.org").await;
}
