//! DNS rebinding against the webhook guard: a name that answers a public address and then
//! loopback, or both at once, never gets a connection to loopback, because every connection
//! resolves afresh and connects only to the addresses checked in that resolution.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tickler_app::notifications::{AllowList, WebhookSecret};
use tickler_workers::delivery::outcome::AttemptResult;
use tickler_workers::delivery::webhook::{Lookup, Webhook, WebhookSender, WebhookSettings};

use support::Receiver;

/// A DNS server under an attacker's control: the `n`th query (0-based) gets `answer(n)`.
fn rebinding_dns(queries: &Arc<AtomicUsize>, answer: fn(usize) -> Vec<&'static str>) -> Lookup {
    let queries = Arc::clone(queries);
    Arc::new(move |_host: String| {
        let nth = queries.fetch_add(1, Ordering::SeqCst);
        let addresses: Vec<SocketAddr> = answer(nth)
            .into_iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), 0))
            .collect();
        Box::pin(async move { Ok(addresses) })
    })
}

async fn attempt(sender: &WebhookSender, url: &str) -> AttemptResult {
    let secret = WebhookSecret::generate().unwrap();
    sender
        .send(Webhook {
            url,
            id: "msg_rebinding",
            timestamp: 1_800_000_000,
            body: b"{}".to_vec(),
            secrets: std::slice::from_ref(&secret),
        })
        .await
}

#[tokio::test]
async fn a_name_rebound_to_loopback_never_gets_a_connection_there() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let receiver = Receiver::answering(204).await;
    let url = format!("http://rebind.attacker.example:{}/hook", receiver.port);
    let settings = WebhookSettings {
        allow: AllowList::default(),
        connect_timeout: Duration::from_millis(300),
        timeout: Duration::from_secs(2),
        max_response_bytes: 1_024,
    };
    // A public address for the first query (the one a check-then-connect guard would
    // check), loopback for every later one (the one it would connect to).
    let queries = Arc::new(AtomicUsize::new(0));
    let sender = WebhookSender::with_lookup(
        &settings,
        rebinding_dns(&queries, |nth| {
            if nth == 0 {
                vec!["8.8.8.8"]
            } else {
                vec!["127.0.0.1"]
            }
        }),
    )
    .unwrap();
    let mut refused = 0;
    for _ in 0..3 {
        let result = attempt(&sender, &url).await;
        assert!(
            !matches!(result, AttemptResult::Delivered { .. }),
            "{result:?}"
        );
        if let AttemptResult::Failed { error, .. } | AttemptResult::Rejected { error, .. } = &result
            && error.contains("may not reach")
        {
            refused += 1;
        }
    }
    assert!(
        queries.load(Ordering::SeqCst) >= 3,
        "each attempt resolves afresh"
    );
    assert_eq!(refused, 2, "the rebound answers are refused");

    // Both at once: only the public address is tried.
    let mixed = WebhookSender::with_lookup(
        &settings,
        rebinding_dns(&queries, |_| vec!["127.0.0.1", "8.8.8.8", "::1"]),
    )
    .unwrap();
    let result = attempt(&mixed, &url).await;
    assert!(
        !matches!(result, AttemptResult::Delivered { .. }),
        "{result:?}"
    );
    assert!(
        receiver.requests().is_empty(),
        "loopback was connected to: {:?}",
        receiver.requests()
    );
}
