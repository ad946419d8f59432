//! Notification channels, notifications and the delivery queue.

use std::collections::HashSet;
use std::time::Duration;

use tickler_domain::{
    ChannelId, ChannelKind, DeliveryId, DeliveryStatus, EventId, NotificationId, TaskId, UserId,
};
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{
    ChangeSet, ClaimedDelivery, Conflict, DeadLetter, DeadLetterQuery, Delivery, DeliveryAttempt,
    DeliveryClaim, DeliveryOutcome, Notification, NotificationChannel, NotificationQuery,
    NotificationWrite, Store, StoreError,
};

pub(super) fn channel(owner: UserId, kind: ChannelKind, seconds: i64) -> NotificationChannel {
    NotificationChannel {
        id: ChannelId::from_uuid(Uuid::now_v7()),
        owner,
        kind,
        url: (kind == ChannelKind::Webhook).then(|| "https://hooks.example.org/in".to_owned()),
        address: (kind == ChannelKind::Email).then(|| "ada@example.org".to_owned()),
        secret: (kind == ChannelKind::Webhook).then(|| vec![1, 2, 3]),
        previous_secret: None,
        previous_secret_until: None,
        enabled: true,
        disabled_reason: None,
        created_at: instant(seconds),
        updated_at: instant(seconds),
        verified_at: Some(instant(seconds)),
        verification_code_hash: None,
        verification_expires_at: None,
        verification_failures: 0,
    }
}

fn notification(owner: UserId, reminder: &str, seconds: i64, in_app: bool) -> Notification {
    Notification {
        id: NotificationId::from_uuid(Uuid::now_v7()),
        owner,
        reminder_id: reminder.to_owned(),
        event_id: EventId::from_uuid(Uuid::now_v7()),
        task_id: TaskId::from_uuid(Uuid::now_v7()),
        title: format!("task of {reminder}"),
        body: "due soon".to_owned(),
        due_at: Some(instant(seconds + 600)),
        fire_at: instant(seconds),
        fired_at: instant(seconds),
        in_app,
        created_at: instant(seconds),
        read_at: None,
        // Stored and read back like every other field.
        traceparent: Some(format!("00-{:032x}-{:016x}-01", seconds + 1, seconds + 2)),
    }
}

fn pending(notification: &Notification, channel: &NotificationChannel, due: i64) -> Delivery {
    Delivery {
        id: DeliveryId::from_uuid(Uuid::now_v7()),
        notification_id: notification.id,
        owner: notification.owner,
        channel_id: channel.id,
        channel_kind: channel.kind,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(instant(due)),
        last_status_code: None,
        last_error: None,
        created_at: notification.created_at,
        updated_at: notification.created_at,
        delivered_at: None,
    }
}

async fn create(
    store: &dyn Store,
    notification: &Notification,
    deliveries: Vec<Delivery>,
    attempts: Vec<DeliveryAttempt>,
) -> Result<(), StoreError> {
    store
        .commit(ChangeSet {
            notifications: vec![NotificationWrite::Create {
                notification: notification.clone(),
                deliveries,
                attempts,
            }],
            ..ChangeSet::default()
        })
        .await
}

fn claim_at(seconds: i64, limit: u32) -> DeliveryClaim {
    DeliveryClaim {
        now: instant(seconds),
        limit,
        per_channel: 100,
        skip_channels: Vec::new(),
        only_channels: None,
        lease: Duration::from_secs(60),
        token: Uuid::now_v7(),
    }
}

fn claimed_ids(claimed: &[ClaimedDelivery]) -> Vec<DeliveryId> {
    claimed.iter().map(|c| c.delivery.id).collect()
}

/// Channels read back equal, oldest first, and only their owner reads, changes or deletes
/// them.
pub async fn channels_round_trip_and_are_scoped_to_their_owner(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let webhook = channel(ada.id, ChannelKind::Webhook, 0);
    let email = channel(ada.id, ChannelKind::Email, 1);
    let in_app = channel(ada.id, ChannelKind::InApp, 2);
    let graces = channel(grace.id, ChannelKind::Webhook, 3);
    for channel in [&webhook, &email, &in_app, &graces] {
        store.insert_channel(channel, 20, &[]).await.unwrap();
    }
    assert_eq!(
        store.list_channels(ada.id).await.unwrap(),
        [webhook.clone(), email.clone(), in_app.clone()]
    );
    assert_eq!(
        store.get_channel(ada.id, webhook.id).await.unwrap(),
        webhook
    );
    assert!(matches!(
        store.get_channel(grace.id, webhook.id).await,
        Err(StoreError::NotFound)
    ));

    let mut changed = webhook.clone();
    changed.url = Some("https://hooks.example.org/v2".into());
    changed.enabled = false;
    changed.disabled_reason = Some("410".into());
    changed.previous_secret = Some(vec![9]);
    changed.previous_secret_until = Some(instant(100));
    changed.updated_at = instant(50);
    store.update_channel(&changed, &[]).await.unwrap();
    assert_eq!(
        store.get_channel(ada.id, webhook.id).await.unwrap(),
        changed
    );
    let intrusion = NotificationChannel {
        owner: grace.id,
        ..changed.clone()
    };
    assert!(matches!(
        store.update_channel(&intrusion, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_channel(grace.id, webhook.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    store.delete_channel(ada.id, webhook.id, &[]).await.unwrap();
    assert!(matches!(
        store.get_channel(ada.id, webhook.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_channels(grace.id).await.unwrap(), [graces]);
}

/// A second in-app channel conflicts, a channel beyond the owner's limit is refused, and an
/// unknown owner's is not found.
pub async fn a_second_in_app_channel_and_channels_beyond_the_limit_are_refused(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    store
        .insert_channel(&channel(ada.id, ChannelKind::InApp, 0), 3, &[])
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_channel(&channel(ada.id, ChannelKind::InApp, 1), 3, &[])
            .await,
        Err(StoreError::Conflict(Conflict::AlreadyExists))
    ));
    for seconds in [2, 3] {
        store
            .insert_channel(&channel(ada.id, ChannelKind::Webhook, seconds), 3, &[])
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .insert_channel(&channel(ada.id, ChannelKind::Email, 4), 3, &[])
            .await,
        Err(StoreError::Conflict(Conflict::LimitReached))
    ));
    assert_eq!(store.list_channels(ada.id).await.unwrap().len(), 3);
    let stranger = UserId::from_uuid(Uuid::now_v7());
    assert!(matches!(
        store
            .insert_channel(&channel(stranger, ChannelKind::Webhook, 5), 3, &[])
            .await,
        Err(StoreError::NotFound)
    ));
}

/// A notification is stored with its deliveries and attempts; a second one of the same
/// reminder conflicts and writes nothing.
pub async fn a_reminder_notifies_its_user_once(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let webhook = channel(ada.id, ChannelKind::Webhook, 0);
    store.insert_channel(&webhook, 20, &[]).await.unwrap();
    let in_app = channel(ada.id, ChannelKind::InApp, 0);
    let first = notification(ada.id, "reminder-1", 10, true);
    let delivered = Delivery {
        status: DeliveryStatus::Delivered,
        attempts: 1,
        next_attempt_at: None,
        delivered_at: Some(instant(10)),
        ..pending(&first, &in_app, 10)
    };
    let attempt = DeliveryAttempt {
        delivery_id: delivered.id,
        attempt: 1,
        attempted_at: instant(10),
        duration_ms: 0,
        status_code: None,
        error: None,
        succeeded: true,
    };
    let queued = pending(&first, &webhook, 10);
    create(
        &*store,
        &first,
        vec![delivered.clone(), queued.clone()],
        vec![attempt.clone()],
    )
    .await
    .unwrap();
    assert_eq!(
        store
            .find_notification_for_reminder(ada.id, "reminder-1")
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_notification_for_reminder(ada.id, "reminder-2")
            .await
            .unwrap(),
        None
    );

    let again = notification(ada.id, "reminder-1", 20, true);
    let duplicate = pending(&again, &webhook, 20);
    assert!(matches!(
        create(&*store, &again, vec![duplicate], Vec::new()).await,
        Err(StoreError::Conflict(Conflict::AlreadyExists))
    ));
    let history = store.list_deliveries(ada.id, first.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].delivery, delivered);
    assert_eq!(history[0].attempts, [attempt]);
    assert_eq!(history[1].delivery, queued);
    assert!(history[1].attempts.is_empty());
    assert!(matches!(
        store.get_notification(ada.id, again.id).await,
        Err(StoreError::NotFound)
    ));
    let grace = register(&*store, "grace@example.org").await;
    assert!(matches!(
        store.list_deliveries(grace.id, first.id).await,
        Err(StoreError::NotFound)
    ));
}

/// In-app notifications list newest first, page, filter unread, and are marked read once,
/// by their owner only.
pub async fn in_app_notifications_are_listed_newest_first_and_marked_read(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let mut created = Vec::new();
    for n in 0..5 {
        let item = notification(ada.id, &format!("r{n}"), n, true);
        create(&*store, &item, Vec::new(), Vec::new())
            .await
            .unwrap();
        created.push(item);
    }
    let hidden = notification(ada.id, "hidden", 9, false);
    create(&*store, &hidden, Vec::new(), Vec::new())
        .await
        .unwrap();
    let ids = |list: Vec<Notification>| -> Vec<NotificationId> {
        list.into_iter().map(|n| n.id).collect()
    };
    let newest_first: Vec<NotificationId> = created.iter().rev().map(|n| n.id).collect();
    let all = NotificationQuery {
        limit: 10,
        ..NotificationQuery::default()
    };
    assert_eq!(
        ids(store.list_notifications(ada.id, &all).await.unwrap()),
        newest_first
    );
    let first_page = store
        .list_notifications(
            ada.id,
            &NotificationQuery {
                limit: 2,
                ..NotificationQuery::default()
            },
        )
        .await
        .unwrap();
    let last = first_page.last().unwrap();
    let rest = store
        .list_notifications(
            ada.id,
            &NotificationQuery {
                after: Some((last.created_at, last.id)),
                limit: 10,
                ..NotificationQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!([ids(first_page), ids(rest)].concat(), newest_first);

    let read = store
        .mark_notification_read(ada.id, created[1].id, instant(100))
        .await
        .unwrap();
    assert_eq!(read.read_at, Some(instant(100)));
    let again = store
        .mark_notification_read(ada.id, created[1].id, instant(200))
        .await
        .unwrap();
    assert_eq!(again.read_at, Some(instant(100)));
    let unread = NotificationQuery {
        unread_only: true,
        limit: 10,
        ..NotificationQuery::default()
    };
    let unread_ids = ids(store.list_notifications(ada.id, &unread).await.unwrap());
    assert_eq!(unread_ids.len(), 4);
    assert!(!unread_ids.contains(&created[1].id));

    assert!(matches!(
        store
            .mark_notification_read(grace.id, created[0].id, instant(100))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .mark_notification_read(ada.id, hidden.id, instant(100))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .list_notifications(grace.id, &all)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_notification(ada.id, hidden.id).await.unwrap(),
        hidden
    );
}

/// Due deliveries are claimed once until their lease expires, at most `per_channel` of one
/// channel, none of a skipped channel and only of the wanted ones; a lost claim cannot finish
/// the attempt.
pub async fn due_deliveries_are_claimed_once_until_their_lease_expires(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let busy = channel(ada.id, ChannelKind::Webhook, 0);
    let quiet = channel(ada.id, ChannelKind::Webhook, 0);
    for channel in [&busy, &quiet] {
        store.insert_channel(channel, 20, &[]).await.unwrap();
    }
    let item = notification(ada.id, "r", 0, false);
    let other = notification(ada.id, "s", 0, false);
    let third = notification(ada.id, "t", 0, false);
    let early = pending(&item, &busy, 10);
    let later = pending(&other, &busy, 20);
    let future = pending(&third, &busy, 1_000);
    let quiet_one = pending(&item, &quiet, 30);
    create(
        &*store,
        &item,
        vec![early.clone(), quiet_one.clone()],
        vec![],
    )
    .await
    .unwrap();
    create(&*store, &other, vec![later.clone()], vec![])
        .await
        .unwrap();
    create(&*store, &third, vec![future.clone()], vec![])
        .await
        .unwrap();

    assert!(
        store
            .claim_deliveries(&DeliveryClaim {
                only_channels: Some(Vec::new()),
                ..claim_at(100, 10)
            })
            .await
            .unwrap()
            .is_empty()
    );
    let wanted = store
        .claim_deliveries(&DeliveryClaim {
            only_channels: Some(vec![quiet.id]),
            ..claim_at(100, 10)
        })
        .await
        .unwrap();
    assert_eq!(claimed_ids(&wanted), [quiet_one.id]);
    let limited = DeliveryClaim {
        per_channel: 1,
        ..claim_at(100, 10)
    };
    let claimed = store.claim_deliveries(&limited).await.unwrap();
    assert_eq!(claimed_ids(&claimed), [early.id]);
    assert_eq!(claimed[0].notification, item);
    assert_eq!(claimed[0].channel.as_ref(), Some(&busy));
    assert!(
        store
            .claim_deliveries(&DeliveryClaim {
                skip_channels: vec![busy.id],
                ..claim_at(100, 10)
            })
            .await
            .unwrap()
            .is_empty()
    );

    let rest = store.claim_deliveries(&claim_at(100, 10)).await.unwrap();
    assert_eq!(claimed_ids(&rest), [later.id]);
    assert!(
        store
            .claim_deliveries(&claim_at(100, 10))
            .await
            .unwrap()
            .is_empty()
    );

    // The lease expires: the delivery comes back under a new claim, and the first claim can
    // no longer finish it.
    let takeover = claim_at(100 + 61, 1);
    let retaken = store.claim_deliveries(&takeover).await.unwrap();
    assert_eq!(claimed_ids(&retaken), [early.id]);
    let mut done = early.clone();
    done.status = DeliveryStatus::Delivered;
    done.attempts = 1;
    done.next_attempt_at = None;
    done.delivered_at = Some(instant(170));
    done.updated_at = instant(170);
    let outcome = |token| DeliveryOutcome {
        token,
        attempt: None,
        delivery: done.clone(),
        disable_channel: None,
        events: Vec::new(),
        dead_letter: None,
    };
    assert!(matches!(
        store.finish_delivery(&outcome(limited.token)).await,
        Err(StoreError::Conflict(Conflict::ClaimLost))
    ));
    store
        .finish_delivery(&outcome(takeover.token))
        .await
        .unwrap();
    assert!(matches!(
        store.finish_delivery(&outcome(takeover.token)).await,
        Err(StoreError::Conflict(Conflict::ClaimLost))
    ));
    let history = store.list_deliveries(ada.id, item.id).await.unwrap();
    assert_eq!(history[0].delivery, done);
}

/// Finishing an attempt records it with its events, dead letter and channel change at once; a
/// dead delivery can be made pending again.
pub async fn a_finished_attempt_is_recorded_with_everything_it_causes(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let webhook = channel(ada.id, ChannelKind::Webhook, 0);
    store.insert_channel(&webhook, 20, &[]).await.unwrap();
    let item = notification(ada.id, "r", 0, false);
    let delivery = pending(&item, &webhook, 0);
    create(&*store, &item, vec![delivery.clone()], vec![])
        .await
        .unwrap();
    let claim = claim_at(5, 10);
    assert_eq!(store.claim_deliveries(&claim).await.unwrap().len(), 1);
    let dead = Delivery {
        status: DeliveryStatus::Dead,
        attempts: 1,
        next_attempt_at: None,
        last_status_code: Some(410),
        last_error: Some("the endpoint is gone".into()),
        updated_at: instant(6),
        ..delivery.clone()
    };
    let attempt = DeliveryAttempt {
        delivery_id: delivery.id,
        attempt: 1,
        attempted_at: instant(5),
        duration_ms: 12,
        status_code: Some(410),
        error: Some("the endpoint is gone".into()),
        succeeded: false,
    };
    let failed_event = event(
        ada.id,
        &item.task_id.to_string(),
        "tickler.notification.failed",
    );
    let letter = DeadLetter {
        id: Uuid::now_v7(),
        consumer: "notifier-delivery".into(),
        event_id: Some(failed_event.id),
        event_type: Some(failed_event.event_type.clone()),
        topic: "reminders".into(),
        payload: failed_event.payload.clone(),
        error: "the endpoint is gone".into(),
        attempts: 1,
        failed_at: instant(6),
        replayed_at: None,
    };
    let head = store.outbox_head().await.unwrap();
    store
        .finish_delivery(&DeliveryOutcome {
            token: claim.token,
            attempt: Some(attempt.clone()),
            delivery: dead.clone(),
            disable_channel: Some("answered 410 Gone".into()),
            events: vec![failed_event.clone()],
            dead_letter: Some(letter.clone()),
        })
        .await
        .unwrap();
    let history = store.list_deliveries(ada.id, item.id).await.unwrap();
    assert_eq!(history[0].delivery, dead);
    assert_eq!(history[0].attempts, [attempt]);
    let disabled = store.get_channel(ada.id, webhook.id).await.unwrap();
    assert!(!disabled.enabled);
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("answered 410 Gone")
    );
    let records = outbox_eventually(&*store, head, 1).await;
    assert_eq!(records[0].message, failed_event);
    let letters = store
        .list_dead_letters(&DeadLetterQuery {
            limit: 10,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(letters, [letter]);
    assert!(
        store
            .claim_deliveries(&claim_at(1_000, 10))
            .await
            .unwrap()
            .is_empty()
    );

    store
        .commit(ChangeSet {
            notifications: vec![NotificationWrite::Redeliver {
                notification: item.id,
                channel: webhook.id,
                at: instant(2_000),
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let again = store.claim_deliveries(&claim_at(2_000, 10)).await.unwrap();
    assert_eq!(claimed_ids(&again), [delivery.id]);
    assert_eq!(again[0].delivery.attempts, 1);
    assert!(matches!(
        store
            .commit(ChangeSet {
                notifications: vec![NotificationWrite::Redeliver {
                    notification: item.id,
                    channel: ChannelId::from_uuid(Uuid::now_v7()),
                    at: instant(2_000),
                }],
                ..ChangeSet::default()
            })
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Concurrent claims hand each due delivery to exactly one claimant; a delivery whose channel
/// was deleted is claimed without its channel.
pub async fn racing_claims_hand_each_delivery_to_one_claimant(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let mut channels = Vec::new();
    for n in 0..5 {
        let webhook = channel(ada.id, ChannelKind::Webhook, n);
        store.insert_channel(&webhook, 20, &[]).await.unwrap();
        channels.push(webhook);
    }
    let mut expected = HashSet::new();
    for n in 0..40 {
        let item = notification(ada.id, &format!("r{n}"), n, false);
        let deliveries: Vec<Delivery> = channels
            .iter()
            .map(|channel| pending(&item, channel, n))
            .collect();
        expected.extend(deliveries.iter().map(|d| d.id));
        create(&*store, &item, deliveries, vec![]).await.unwrap();
    }
    store
        .delete_channel(ada.id, channels[0].id, &[])
        .await
        .unwrap();
    let claims = (0..4).map(|_| {
        let store = store.clone();
        async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_deliveries(&claim_at(100, 16)).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch);
            }
        }
    });
    let results = futures_join_all(claims).await;
    let mut seen = HashSet::new();
    for claimed in results.iter().flatten() {
        assert!(seen.insert(claimed.delivery.id), "claimed twice");
        assert_eq!(
            claimed.channel.is_none(),
            claimed.delivery.channel_id == channels[0].id
        );
    }
    assert_eq!(seen, expected);
}

/// Verification mails are limited per owner and per address, atomically with their record:
/// a full window answers when its oldest mail leaves it, and records nothing.
pub async fn verification_mails_are_limited_per_owner_and_per_address(backend: &dyn TestBackend) {
    use crate::{VerificationLimits, VerificationMail};
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let limits = VerificationLimits {
        per_owner: 3,
        owner_window: chrono::TimeDelta::hours(1),
        per_address: 2,
        address_window: chrono::TimeDelta::days(1),
    };
    let mail = |owner: UserId, address: &str, seconds: i64| VerificationMail {
        id: Uuid::now_v7(),
        owner,
        address: address.to_owned(),
        sent_at: instant(seconds),
    };
    let reserve = |mail: VerificationMail| {
        let store = store.clone();
        async move {
            store
                .reserve_verification_mail(&mail, &limits)
                .await
                .unwrap()
        }
    };
    // Per address, whoever asks: the third mail to victim@ within a day is refused.
    assert_eq!(reserve(mail(ada.id, "victim@example.org", 0)).await, None);
    assert_eq!(
        reserve(mail(grace.id, "victim@example.org", 10)).await,
        None
    );
    assert_eq!(
        reserve(mail(grace.id, "victim@example.org", 20)).await,
        Some(instant(0) + chrono::TimeDelta::days(1))
    );
    // Per owner: Ada's third and fourth mails (to other addresses) within the hour.
    assert_eq!(reserve(mail(ada.id, "a@example.org", 30)).await, None);
    assert_eq!(reserve(mail(ada.id, "b@example.org", 40)).await, None);
    assert_eq!(
        reserve(mail(ada.id, "c@example.org", 50)).await,
        Some(instant(0) + chrono::TimeDelta::hours(1))
    );
    // A refused mail was not recorded: an hour after her first, Ada may send one more.
    assert_eq!(reserve(mail(ada.id, "c@example.org", 3_600)).await, None);
    assert_eq!(
        reserve(mail(ada.id, "d@example.org", 3_601)).await,
        Some(instant(30) + chrono::TimeDelta::hours(1))
    );
}

/// A channel's code verifies it once, before it expires and while few wrong codes were
/// posted; wrong codes are counted; another user's channel is `NotFound`.
pub async fn a_verification_code_is_single_use_expires_and_counts_wrong_guesses(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let mut email = channel(ada.id, ChannelKind::Email, 1);
    email.verified_at = None;
    email.verification_code_hash = Some(b"right".to_vec());
    email.verification_expires_at = Some(instant(100));
    store.insert_channel(&email, 10, &[]).await.unwrap();
    let verify = |code: &'static [u8], seconds: i64| {
        let store = store.clone();
        let (owner, id) = (ada.id, email.id);
        async move {
            store
                .verify_channel(owner, id, code, instant(seconds), 3, &[])
                .await
        }
    };
    assert!(matches!(
        store
            .verify_channel(grace.id, email.id, b"right", instant(2), 3, &[])
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(!verify(b"wrong", 2).await.unwrap());
    assert!(
        !verify(b"right", 100).await.unwrap(),
        "an expired code verified"
    );
    let stored = store.get_channel(ada.id, email.id).await.unwrap();
    assert_eq!(stored.verification_failures, 2);
    assert_eq!(stored.verified_at, None);
    assert!(verify(b"right", 3).await.unwrap());
    let stored = store.get_channel(ada.id, email.id).await.unwrap();
    assert_eq!(stored.verified_at, Some(instant(3)));
    assert_eq!(stored.verification_code_hash, None);
    assert!(!verify(b"right", 4).await.unwrap(), "a code verified twice");
    assert_eq!(
        store
            .get_channel(ada.id, email.id)
            .await
            .unwrap()
            .verified_at,
        Some(instant(3))
    );

    // Out of guesses: even the right code no longer verifies.
    let mut other = channel(ada.id, ChannelKind::Email, 5);
    other.verified_at = None;
    other.verification_code_hash = Some(b"right".to_vec());
    other.verification_expires_at = Some(instant(100));
    store.insert_channel(&other, 10, &[]).await.unwrap();
    for _ in 0..3 {
        assert!(
            !store
                .verify_channel(ada.id, other.id, b"wrong", instant(6), 3, &[])
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .verify_channel(ada.id, other.id, b"right", instant(7), 3, &[])
            .await
            .unwrap()
    );
}
