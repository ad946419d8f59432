//! The SMTP server dying mid-DATA (RELIABILITY #27, #28): aiosmtpd exits after the client sent
//! the whole message and before it replied, so tickler cannot know whether the mail was taken.
//! The attempt is recorded as failed and retried; once the server is back the mail is
//! delivered, once. A server that never returns exhausts the retry budget: the delivery is
//! dead, with a dead letter. Both databases.

use serde_json::{Value, json};
use tickler_app::{Clock as _, SystemClock};
use tickler_store::DeadLetterQuery;

use super::peers::{SmtpSink, fire_reminder, local_notifier, preverified_email_channel, python};
use crate::helpers::{Backend, TestApp, TestUser, eventually};

crate::on_both_backends!(
    an_smtp_server_dying_mid_data_is_retried_and_delivers_once_it_is_back,
    an_smtp_server_that_dies_mid_data_and_never_returns_dead_letters_the_mail,
);

const RETRIES: usize = 6;

async fn start(backend: Backend, smtp: &SmtpSink) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        config.notifier.retry_schedule = vec!["1s".into(); RETRIES];
        config.notifier.retry_jitter = 0.0;
        smtp.configure(config);
    })
    .await
}

/// Fires a reminder to an e-mail channel; waits for the sink to die of it.
async fn fire_into_a_dying_sink(app: &TestApp, smtp: &mut SmtpSink) -> TestUser {
    let ada = app.register("ada@example.org").await;
    // Verified already: the sink dies of the first mail it takes, which must be the reminder.
    preverified_email_channel(app, &ada, "ada@example.org").await;
    fire_reminder(app, &ada, "SMTP outage", SystemClock.now()).await;
    eventually(60, || {
        let exited = smtp.has_exited();
        async move { exited.then_some(()) }
    })
    .await;
    ada
}

/// The e-mail delivery of the user's only notification, once `settled` accepts it.
async fn email_delivery(app: &TestApp, user: &TestUser, settled: impl Fn(&Value) -> bool) -> Value {
    eventually(60, || async {
        let page: Value = app
            .get(user, "/api/v1/notifications")
            .await
            .json()
            .await
            .ok()?;
        let id = page["items"][0]["id"].as_str()?.to_owned();
        let deliveries: Value = app
            .get(user, &format!("/api/v1/notifications/{id}/deliveries"))
            .await
            .json()
            .await
            .ok()?;
        let email = deliveries
            .as_array()?
            .iter()
            .find(|delivery| delivery["channel_kind"] == "email")?
            .clone();
        settled(&email).then_some(email)
    })
    .await
}

fn attempts(delivery: &Value) -> &Vec<Value> {
    delivery["attempts"].as_array().unwrap()
}

async fn an_smtp_server_dying_mid_data_is_retried_and_delivers_once_it_is_back(backend: Backend) {
    let Some(python) = python() else { return };
    let mut smtp = SmtpSink::start_dying_in_data(&python);
    let Some(app) = start(backend, &smtp).await else {
        return;
    };
    let ada = fire_into_a_dying_sink(&app, &mut smtp).await;
    // The attempt the server died in is recorded as failed, and the mail is still pending.
    let failed = email_delivery(&app, &ada, |delivery| !attempts(delivery).is_empty()).await;
    assert_eq!(failed["status"], "pending", "{failed}");
    let first = &attempts(&failed)[0];
    assert_eq!(first["succeeded"], false, "{failed}");
    assert!(first["error"].is_string(), "{failed}");
    assert!(smtp.messages().is_empty());

    smtp.restart(&python);
    let delivered = email_delivery(&app, &ada, |delivery| delivery["status"] != "pending").await;
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    let tries = attempts(&delivered);
    assert!(tries.last().unwrap()["succeeded"] == true, "{delivered}");
    assert!(
        tries[..tries.len() - 1]
            .iter()
            .all(|attempt| attempt["succeeded"] == false && attempt["error"].is_string()),
        "{delivered}"
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "delivered once: {messages:?}");
    assert_eq!(messages[0]["rcpt_tos"], json!(["ada@example.org"]));
    eprintln!(
        "{backend:?}: SMTP died mid-DATA: {} failed attempt(s), then delivered; lost 0, mails 1",
        tries.len() - 1
    );
}

async fn an_smtp_server_that_dies_mid_data_and_never_returns_dead_letters_the_mail(
    backend: Backend,
) {
    let Some(python) = python() else { return };
    let mut smtp = SmtpSink::start_dying_in_data(&python);
    let Some(app) = start(backend, &smtp).await else {
        return;
    };
    let ada = fire_into_a_dying_sink(&app, &mut smtp).await;
    let dead = email_delivery(&app, &ada, |delivery| delivery["status"] != "pending").await;
    assert_eq!(dead["status"], "dead", "{dead}");
    let tries = attempts(&dead);
    assert_eq!(
        tries.len(),
        RETRIES + 1,
        "the whole budget was spent: {dead}"
    );
    assert!(tries.iter().all(|attempt| attempt["succeeded"] == false));
    let letters = app
        .store()
        .list_dead_letters(&DeadLetterQuery {
            consumer: Some("notifier-delivery".into()),
            include_replayed: false,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(letters.len(), 1, "one dead letter: {letters:?}");
    eprintln!(
        "{backend:?}: SMTP died mid-DATA and stayed down: {} attempts, dead, 1 dead letter",
        tries.len()
    );
}
