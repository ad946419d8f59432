//! Calendar feeds: stored by token hash, listed, found and revoked, each scoped to its owner.

use tickler_domain::{CalendarFeedId, UserId};
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{CalendarFeed, Conflict, NewCalendarFeed, Store, StoreError};

/// Returns a feed (not stored yet) of `owner` named `name`, created at `instant(seconds)`, with
/// token hash `[n; 32]`.
pub(super) fn new_feed(
    owner: UserId,
    name: &str,
    filter: Option<&str>,
    seconds: i64,
    n: u8,
) -> NewCalendarFeed {
    NewCalendarFeed {
        feed: CalendarFeed {
            id: CalendarFeedId::from_uuid(Uuid::now_v7()),
            owner,
            name: name.to_owned(),
            filter: filter.map(str::to_owned),
            created_at: instant(seconds),
        },
        token_hash: vec![n; 32],
    }
}

/// Stores [`new_feed`].
async fn add_feed(
    store: &dyn Store,
    owner: UserId,
    name: &str,
    filter: Option<&str>,
    seconds: i64,
    n: u8,
) -> CalendarFeed {
    let new = new_feed(owner, name, filter, seconds, n);
    store.insert_calendar_feed(&new, &[]).await.unwrap();
    new.feed
}

/// A feed is found by its token hash, with its owner, and listed newest first for its owner
/// only.
pub async fn calendar_feeds_are_found_by_token_hash_and_listed_for_their_owner(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let work = add_feed(&*store, ada.id, "Work", Some("tag=work&status=open"), 10, 1).await;
    let all = add_feed(&*store, ada.id, "Everything", None, 20, 2).await;
    let hers = add_feed(&*store, grace.id, "Hers", None, 30, 3).await;

    let (found, owner) = store
        .find_calendar_feed(&[1; 32])
        .await
        .unwrap()
        .expect("feed by hash");
    assert_eq!(found, work);
    assert_eq!(owner, ada);
    assert!(store.find_calendar_feed(&[9; 32]).await.unwrap().is_none());

    assert_eq!(
        store.list_calendar_feeds(ada.id).await.unwrap(),
        vec![all, work]
    );
    assert_eq!(
        store.list_calendar_feeds(grace.id).await.unwrap(),
        vec![hers]
    );
}

/// Revoking a feed is scoped to its owner, and a revoked feed's token finds nothing.
pub async fn revoking_a_calendar_feed_is_scoped_to_its_owner(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let feed = add_feed(&*store, ada.id, "Work", None, 10, 1).await;

    assert!(matches!(
        store.delete_calendar_feed(grace.id, feed.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.find_calendar_feed(&[1; 32]).await.unwrap().is_some());
    store
        .delete_calendar_feed(ada.id, feed.id, &[])
        .await
        .unwrap();
    assert!(store.find_calendar_feed(&[1; 32]).await.unwrap().is_none());
    assert!(store.list_calendar_feeds(ada.id).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_calendar_feed(ada.id, feed.id, &[]).await,
        Err(StoreError::NotFound)
    ));
}

/// A token hash cannot belong to two feeds, and a feed of an unknown user is refused.
pub async fn a_reused_feed_token_hash_conflicts_and_an_unknown_owner_is_not_found(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    add_feed(&*store, ada.id, "Work", None, 10, 1).await;
    let twin = NewCalendarFeed {
        feed: CalendarFeed {
            id: CalendarFeedId::from_uuid(Uuid::now_v7()),
            owner: ada.id,
            name: "Twin".into(),
            filter: None,
            created_at: instant(20),
        },
        token_hash: vec![1; 32],
    };
    let error = store.insert_calendar_feed(&twin, &[]).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyExists)),
        "{error:?}"
    );
    let orphan = NewCalendarFeed {
        feed: CalendarFeed {
            owner: UserId::from_uuid(Uuid::now_v7()),
            ..twin.feed.clone()
        },
        token_hash: vec![2; 32],
    };
    let error = store.insert_calendar_feed(&orphan, &[]).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error:?}");
    assert_eq!(store.list_calendar_feeds(ada.id).await.unwrap().len(), 1);
}
