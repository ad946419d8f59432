//! The embedded bus's outbox retention against a real SQLite store: a consumer that was down
//! longer than the retention window loses nothing, and its lag is reported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::TimeDelta;
use tickler_store::testing::{append, event, outbox_eventually, register};
use tickler_store::{ConsumerPosition, OutboxPosition};
use tickler_workers::embedded::{OutboxRetention, RetentionRound, lag_behind};

#[tokio::test]
async fn retention_keeps_what_the_slowest_consumer_has_not_read_and_reports_its_lag() {
    let (_dir, store) = support::store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    append(
        store.as_ref(),
        (0..10)
            .map(|n| event(user.id, &format!("task-{n}"), "tickler.task.created"))
            .collect(),
    )
    .await;
    let records = outbox_eventually(store.as_ref(), OutboxPosition::default(), 10).await;
    for (consumer, read) in [("audit", 9), ("recurring", 9), ("notifier", 3)] {
        store
            .save_consumer_position(&ConsumerPosition {
                consumer: consumer.to_owned(),
                position: records[read].position,
            })
            .await
            .unwrap();
    }
    // A week later: every record is older than the window.
    let retention = OutboxRetention::new(store.clone(), TimeDelta::days(7));
    let later = records[9].message.occurred_at + TimeDelta::days(8);
    let round = retention.run_once(later).await.unwrap();
    assert_eq!(
        round,
        RetentionRound {
            purged: 4,
            slowest: Some(("notifier".to_owned(), 6)),
        }
    );
    // The notifier comes back and still reads everything after its position.
    let unread = store.outbox_after(records[3].position, 100).await.unwrap();
    assert_eq!(unread.len(), 6);
    assert_eq!(unread[0].position, records[4].position);

    store
        .save_consumer_position(&ConsumerPosition {
            consumer: "notifier".to_owned(),
            position: records[9].position,
        })
        .await
        .unwrap();
    let round = retention.run_once(later).await.unwrap();
    assert_eq!(round.purged, 6);
    assert_eq!(round.slowest.map(|(_, lag)| lag), Some(0));
}

#[test]
fn lag_counts_the_records_between_a_position_and_the_head() {
    let at = |transaction, sequence| OutboxPosition {
        transaction,
        sequence,
    };
    assert_eq!(lag_behind(at(0, 10), at(0, 4)), 6);
    assert_eq!(lag_behind(at(0, 10), at(0, 10)), 0);
    assert_eq!(lag_behind(at(0, 10), at(0, 12)), 0);
    // PostgreSQL: a later transaction may hold a smaller sequence number.
    assert_eq!(lag_behind(at(7, 3), at(5, 9)), 1);
    assert_eq!(lag_behind(at(7, 30), at(5, 9)), 21);
}
