//! Fired reminders delivered end to end: the in-app list, a signed webhook checked by the
//! official Standard Webhooks library, an e-mail received by aiosmtpd; SMTP reply classes,
//! dead letters and their replay, and the Kafka bus.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_app::{Clock as _, SystemClock};

use super::peers::{
    SmtpSink, VerifyCase, WebhookReceiver, fire_reminder, free_port, local_notifier,
    preverified_email_channel, python, verified_email_channel, verify_with_the_reference_library,
};
use crate::helpers::{Backend, TestApp, TestUser, eventually};

crate::on_both_backends!(
    a_due_reminder_reaches_the_app_a_signed_webhook_and_an_email,
    tampered_webhooks_fail_the_reference_verifier_and_a_rotation_signs_with_both_secrets,
    smtp_replies_decide_between_retrying_and_giving_up,
    a_webhook_that_keeps_failing_is_dead_lettered_and_an_operator_replay_delivers_it,
    a_due_reminder_travels_over_kafka_to_the_webhook_receiver,
);

/// The wall clock: these tests run in real time.
fn now() -> DateTime<Utc> {
    SystemClock.now()
}

const CHANNELS: &str = "/api/v1/notification-channels";

async fn create_channel(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let response = app.post(user, CHANNELS, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    response.json().await.unwrap()
}

/// Reads the user's in-app notifications until `count` are there.
async fn notifications(app: &TestApp, user: &TestUser, count: usize) -> Vec<Value> {
    eventually(20, || async {
        let page: Value = app
            .get(user, "/api/v1/notifications")
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap().clone();
        (items.len() >= count).then_some(items)
    })
    .await
}

/// Reads a notification's deliveries until none is pending.
async fn settled_deliveries(app: &TestApp, user: &TestUser, notification: &str) -> Vec<Value> {
    let path = format!("/api/v1/notifications/{notification}/deliveries");
    eventually(30, || async {
        let deliveries: Value = app.get(user, &path).await.json().await.unwrap();
        let list = deliveries.as_array().unwrap().clone();
        list.iter()
            .all(|d| d["status"] != "pending")
            .then_some(list)
    })
    .await
}

fn headers_of(received: &super::peers::Received) -> HashMap<String, String> {
    ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|name| (name.to_owned(), received.headers[name].clone()))
        .collect()
}

async fn a_due_reminder_reaches_the_app_a_signed_webhook_and_an_email(backend: Backend) {
    let Some(python) = python() else { return };
    let smtp = SmtpSink::start(&python);
    let receiver = WebhookReceiver::start(|_, _| 200).await;
    let Some(app) = TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        smtp.configure(config);
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let webhook = create_channel(
        &app,
        &ada,
        json!({"kind": "webhook", "url": format!("{}/ada", receiver.base)}),
    )
    .await;
    verified_email_channel(&app, &ada, &smtp, "ada@example.org").await;
    let fire_at = now();
    let reminder = fire_reminder(&app, &ada, "Pay <rent>", fire_at).await;

    // In-app: listed unread, then read.
    let [notification] = notifications(&app, &ada, 1).await.try_into().unwrap();
    assert_eq!(notification["reminder_id"], reminder.as_str());
    assert_eq!(notification["title"], "Pay <rent>");
    assert!(notification["read_at"].is_null());
    let id = notification["id"].as_str().unwrap();
    let read: Value = app
        .post(
            &ada,
            &format!("/api/v1/notifications/{id}/read"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(read["read_at"].is_string());
    let unread: Value = app
        .get(&ada, "/api/v1/notifications?unread=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread["items"], json!([]));

    // Webhook and e-mail: every delivery settles as delivered, one attempt each.
    let deliveries = settled_deliveries(&app, &ada, id).await;
    let summary: Vec<(String, String, usize)> = deliveries
        .iter()
        .map(|d| {
            (
                d["channel_kind"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
                d["attempts"].as_array().unwrap().len(),
            )
        })
        .collect();
    let expected: Vec<(String, String, usize)> = ["in_app", "webhook", "email"]
        .iter()
        .map(|kind| (kind.to_string(), "delivered".to_owned(), 1))
        .collect();
    assert_eq!(summary, expected);
    assert_eq!(deliveries[1]["attempts"][0]["status_code"], 200);
    assert_eq!(deliveries[2]["attempts"][0]["status_code"], 250);

    let [received] = receiver.received().try_into().unwrap();
    assert_eq!(
        received.headers["webhook-id"],
        deliveries[1]["id"].as_str().unwrap()
    );
    let body: Value = serde_json::from_str(&received.body).unwrap();
    assert_eq!(body["type"], "tickler.reminder.due");
    assert_eq!(body["data"]["reminder_id"], reminder.as_str());
    assert_eq!(body["data"]["channel_id"], webhook["id"]);
    let valid = verify_with_the_reference_library(
        &python,
        &[VerifyCase {
            name: "received".into(),
            secret: webhook["secret"].as_str().unwrap().into(),
            headers: headers_of(&received),
            body: received.body.clone(),
        }],
    )
    .await;
    assert_eq!(
        valid,
        [true],
        "the reference library rejected a real webhook"
    );

    // The verification mail came first; then the reminder.
    let mail = eventually(20, || async {
        let messages = smtp.messages();
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    let [_, mail] = mail.try_into().unwrap();
    assert_eq!(mail["rcpt_tos"], json!(["ada@example.org"]));
    // The title is the user's text: only in the bodies, never in a header.
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .starts_with("tickler reminder: due ")
    );
    assert_eq!(mail["from"], "tickler <tickler@example.org>");
    assert_eq!(
        mail["message_id"],
        format!("<{}@example.org>", deliveries[2]["id"].as_str().unwrap())
    );
    assert_eq!(mail["content_type"], "multipart/alternative");
    let parts = mail["parts"].as_array().unwrap();
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert!(parts[0]["text"].as_str().unwrap().contains("Pay <rent>"));
    assert_eq!(parts[1]["content_type"], "text/html");
    assert!(
        parts[1]["text"]
            .as_str()
            .unwrap()
            .contains("Pay &lt;rent&gt;")
    );

    // The deliveries are another user's business only.
    let bob = app.register("bob@example.org").await;
    let foreign = app
        .get(&bob, &format!("/api/v1/notifications/{id}/deliveries"))
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let foreign = app
        .post(
            &bob,
            &format!("/api/v1/notifications/{id}/read"),
            &json!({}),
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
}

async fn tampered_webhooks_fail_the_reference_verifier_and_a_rotation_signs_with_both_secrets(
    backend: Backend,
) {
    let Some(python) = python() else { return };
    let receiver = WebhookReceiver::start(|_, _| 204).await;
    let Some(app) = TestApp::spawn_with(backend, local_notifier).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let webhook =
        create_channel(&app, &ada, json!({"kind": "webhook", "url": receiver.base})).await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    fire_reminder(&app, &ada, "first", now()).await;
    let first = eventually(20, || async { receiver.received().first().cloned() }).await;

    let other_secret = {
        let other = create_channel(
            &app,
            &ada,
            json!({"kind": "webhook", "url": format!("{}/x", receiver.base)}),
        )
        .await;
        other["secret"].as_str().unwrap().to_owned()
    };
    let case =
        |name: &str, secret: &str, headers: HashMap<String, String>, body: &str| VerifyCase {
            name: name.into(),
            secret: secret.into(),
            headers,
            body: body.into(),
        };
    let headers = headers_of(&first);
    let with = |name: &str, value: String| {
        let mut changed = headers.clone();
        changed.insert(name.to_owned(), value);
        changed
    };
    let timestamp: i64 = headers["webhook-timestamp"].parse().unwrap();
    let cases = [
        case("valid", &secret, headers.clone(), &first.body),
        case(
            "body",
            &secret,
            headers.clone(),
            &first.body.replace("first", "fIrst"),
        ),
        case(
            "id",
            &secret,
            with("webhook-id", format!("{}0", headers["webhook-id"])),
            &first.body,
        ),
        case(
            "timestamp",
            &secret,
            with("webhook-timestamp", (timestamp + 1).to_string()),
            &first.body,
        ),
        case(
            "stale",
            &secret,
            with("webhook-timestamp", (timestamp - 600).to_string()),
            &first.body,
        ),
        case("secret", &other_secret, headers.clone(), &first.body),
        case(
            "no signature",
            &secret,
            with("webhook-signature", String::new()),
            &first.body,
        ),
    ];
    let verdicts = verify_with_the_reference_library(&python, &cases).await;
    let accepted = usize::from(verdicts[0]);
    let rejected = verdicts[1..].iter().filter(|valid| !**valid).count();
    eprintln!(
        "reference verifier: valid accepted {accepted}/1, tampered rejected {rejected}/{}",
        cases.len() - 1
    );
    assert_eq!((accepted, rejected), (1, cases.len() - 1));

    // After a rotation both secrets verify the same webhook: receivers can switch at leisure.
    let path = format!(
        "{CHANNELS}/{}/rotate-secret",
        webhook["id"].as_str().unwrap()
    );
    let rotated: Value = app
        .post(&ada, &path, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    fire_reminder(&app, &ada, "second", now()).await;
    let second = eventually(20, || async {
        receiver
            .received()
            .into_iter()
            .find(|r| r.path == "/" && r.body.contains("second"))
    })
    .await;
    assert_eq!(second.headers["webhook-signature"].split(' ').count(), 2);
    let both = verify_with_the_reference_library(
        &python,
        &[
            case("old secret", &secret, headers_of(&second), &second.body),
            case("new secret", &new_secret, headers_of(&second), &second.body),
        ],
    )
    .await;
    assert_eq!(both, [true, true]);
}

async fn smtp_replies_decide_between_retrying_and_giving_up(backend: Backend) {
    let Some(python) = python() else { return };
    let smtp = SmtpSink::start(&python);
    let schedule = |config: &mut tickler_cli::config::Config| {
        local_notifier(config);
        config.notifier.retry_schedule = vec!["100ms".into(); 3];
    };
    let Some(app) = TestApp::spawn_with(backend, |config| {
        schedule(config);
        smtp.configure(config);
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    // Addresses that refuse mail cannot receive a verification code: verified beforehand.
    for address in ["temporary+2@example.org", "reject@example.org"] {
        preverified_email_channel(&app, &ada, address).await;
    }
    fire_reminder(&app, &ada, "SMTP", now()).await;
    let [notification] = notifications(&app, &ada, 1).await.try_into().unwrap();
    let deliveries = settled_deliveries(&app, &ada, notification["id"].as_str().unwrap()).await;
    let codes = |delivery: &Value| -> Vec<u64> {
        delivery["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].as_u64().unwrap_or(0))
            .collect()
    };
    // Transient (4xx): retried until accepted. Permanent (5xx): given up on at once.
    assert_eq!(deliveries[1]["status"], "delivered");
    assert_eq!(codes(&deliveries[1]), [451, 451, 250]);
    assert_eq!(deliveries[2]["status"], "dead");
    assert_eq!(codes(&deliveries[2]), [550]);
    assert_eq!(smtp.messages().len(), 1);

    // Unreachable: retried to the end of the schedule.
    let closed = free_port();
    let Some(unreachable) = TestApp::spawn_with(backend, |config| {
        schedule(config);
        config.notifier.smtp_url = format!("smtp://127.0.0.1:{closed}");
        config.notifier.smtp_tls = tickler_workers::delivery::email::SmtpTls::None;
        config.notifier.smtp_from = "tickler@example.org".into();
    })
    .await
    else {
        return;
    };
    let grace = unreachable.register("grace@example.org").await;
    preverified_email_channel(&unreachable, &grace, "grace@example.org").await;
    fire_reminder(&unreachable, &grace, "SMTP down", now()).await;
    let [notification] = notifications(&unreachable, &grace, 1)
        .await
        .try_into()
        .unwrap();
    let deliveries =
        settled_deliveries(&unreachable, &grace, notification["id"].as_str().unwrap()).await;
    assert_eq!(deliveries[1]["status"], "dead");
    let attempts = deliveries[1]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert!(
        attempts
            .iter()
            .all(|a| a["status_code"].is_null() && a["error"].is_string())
    );
    eprintln!(
        "SMTP classes: 4xx retried then delivered (3 attempts), 5xx given up after 1, unreachable retried {} times",
        attempts.len()
    );
}

async fn a_webhook_that_keeps_failing_is_dead_lettered_and_an_operator_replay_delivers_it(
    backend: Backend,
) {
    let receiver = WebhookReceiver::start(|_, nth| if nth < 3 { 500 } else { 200 }).await;
    let Some(app) = TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        config.notifier.retry_schedule = vec!["50ms".into(), "50ms".into()];
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let ops = app.register("ops@example.org").await;
    app.grant_operator("ops@example.org").await;
    create_channel(&app, &ada, json!({"kind": "webhook", "url": receiver.base})).await;
    fire_reminder(&app, &ada, "flaky", now()).await;
    let [notification] = notifications(&app, &ada, 1).await.try_into().unwrap();
    let id = notification["id"].as_str().unwrap().to_owned();
    let deliveries = settled_deliveries(&app, &ada, &id).await;
    assert_eq!(deliveries[1]["status"], "dead");
    let attempts = deliveries[1]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a["status_code"] == 500 && a["succeeded"] == false)
    );

    let letters: Value = app
        .get(
            &ops,
            "/api/v1/admin/dead-letters?consumer=notifier-delivery",
        )
        .await
        .json()
        .await
        .unwrap();
    let [letter] = letters.as_array().unwrap().clone().try_into().unwrap();
    assert_eq!(letter["event_type"], "tickler.notification.failed");
    assert_eq!(letter["attempts"], 3);
    let replay = app
        .post(
            &ops,
            &format!(
                "/api/v1/admin/dead-letters/{}/replay",
                letter["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::OK);
    let delivered = eventually(20, || async {
        let deliveries: Value = app
            .get(&ada, &format!("/api/v1/notifications/{id}/deliveries"))
            .await
            .json()
            .await
            .unwrap();
        (deliveries[1]["status"] == "delivered").then_some(deliveries)
    })
    .await;
    assert_eq!(delivered[1]["attempts"].as_array().unwrap().len(), 4);
    let ids: std::collections::HashSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same webhook-id");
}

async fn a_due_reminder_travels_over_kafka_to_the_webhook_receiver(backend: Backend) {
    let Some(brokers) = crate::kafka::shared_broker() else {
        return;
    };
    let prefix = format!("n{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let receiver = WebhookReceiver::start(|_, _| 200).await;
    let Some(app) = TestApp::spawn_with(backend, |config| {
        crate::kafka::on_kafka(config, &brokers, &prefix);
        local_notifier(config);
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    create_channel(&app, &ada, json!({"kind": "webhook", "url": receiver.base})).await;
    let mut reminders = Vec::new();
    for n in 0..5 {
        reminders.push(fire_reminder(&app, &ada, &format!("kafka {n}"), now()).await);
    }
    let received = eventually(60, || async {
        let received = receiver.received();
        (received.len() >= 5).then_some(received)
    })
    .await;
    let mut seen: Vec<String> = received
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            body["data"]["reminder_id"].as_str().unwrap().to_owned()
        })
        .collect();
    seen.sort();
    reminders.sort();
    assert_eq!(seen, reminders);
}
