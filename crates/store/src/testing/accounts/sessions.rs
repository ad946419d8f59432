//! Sign-in sessions: rotation, reuse detection, revocation.

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{
    AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId, SessionRevocation,
    Store, StoreError,
};

/// A 32-byte hash standing for the keyed hash of refresh token number `n`.
pub(super) fn hash(n: u8) -> Vec<u8> {
    vec![n; 32]
}

/// Returns a session (not stored yet) of `owner` started at `instant(0)`, expiring after a
/// day, with refresh token `first`.
pub(super) fn new_session(owner: tickler_domain::UserId, first: u8) -> NewAuthSession {
    NewAuthSession {
        session: AuthSession {
            id: SessionId(Uuid::now_v7()),
            owner,
            created_at: instant(0),
            refreshed_at: instant(0),
            expires_at: instant(86_400),
            revoked_at: None,
            revoked_reason: None,
        },
        refresh_hash: hash(first),
    }
}

/// Stores [`new_session`].
async fn start_session(store: &dyn Store, owner: tickler_domain::UserId, first: u8) -> AuthSession {
    let new = new_session(owner, first);
    store.insert_session(&new, &[]).await.unwrap();
    new.session
}

pub(super) fn rotation(presented: u8, successor: u8, at_seconds: i64) -> RefreshRotation {
    RefreshRotation {
        presented_hash: hash(presented),
        successor_hash: hash(successor),
        now: instant(at_seconds),
        expires_at: instant(at_seconds + 86_400),
        reuse_grace: TimeDelta::seconds(10),
    }
}

/// A session reads back; its refresh token finds it; rotating moves its expiry forward, and the
/// successor works in turn while the rotated token is reuse after the grace window, which
/// revokes the session for every token of the family.
pub async fn a_refresh_token_rotates_once_and_its_reuse_revokes_the_session(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let session = start_session(&*store, user.id, 1).await;
    assert_eq!(store.get_session(session.id).await.unwrap(), session);
    assert_eq!(
        store.find_session_by_refresh(&hash(1)).await.unwrap(),
        Some(session.clone())
    );

    let RefreshOutcome::Rotated(rotated, owner) = store
        .rotate_refresh_token(&rotation(1, 2, 60), no_audit())
        .await
        .unwrap()
    else {
        panic!("the current token must rotate");
    };
    assert_eq!(*owner, user);
    assert_eq!(rotated.id, session.id);
    assert_eq!(rotated.refreshed_at, instant(60));
    assert_eq!(rotated.expires_at, instant(60 + 86_400));
    assert_eq!(store.get_session(session.id).await.unwrap(), rotated);

    // Within the grace window the old token is merely superseded: nothing changes.
    assert_eq!(
        store
            .rotate_refresh_token(&rotation(1, 3, 65), no_audit())
            .await
            .unwrap(),
        RefreshOutcome::Superseded
    );
    assert!(
        store
            .get_session(session.id)
            .await
            .unwrap()
            .is_active(instant(65))
    );
    assert!(matches!(
        store
            .rotate_refresh_token(&rotation(2, 3, 120), no_audit())
            .await
            .unwrap(),
        RefreshOutcome::Rotated(..)
    ));

    // After it, presenting a rotated token revokes the whole family.
    assert_eq!(
        store
            .rotate_refresh_token(&rotation(1, 4, 200), no_audit())
            .await
            .unwrap(),
        RefreshOutcome::ReuseDetected(session.id)
    );
    let revoked = store.get_session(session.id).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(instant(200)));
    assert_eq!(revoked.revoked_reason, Some(SessionRevocation::Reuse));
    assert_eq!(
        store
            .rotate_refresh_token(&rotation(3, 5, 210), no_audit())
            .await
            .unwrap(),
        RefreshOutcome::Inactive
    );
    assert_eq!(
        store
            .rotate_refresh_token(&rotation(9, 5, 210), no_audit())
            .await
            .unwrap(),
        RefreshOutcome::Unknown
    );
    // No successor of a refused rotation was stored.
    assert!(
        store
            .find_session_by_refresh(&hash(4))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_session_by_refresh(&hash(5))
            .await
            .unwrap()
            .is_none()
    );
}

/// An expired session's token does not rotate.
pub async fn an_expired_session_does_not_rotate(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    start_session(&*store, user.id, 1).await;
    assert_eq!(
        store
            .rotate_refresh_token(&rotation(1, 2, 86_400), no_audit())
            .await
            .unwrap(),
        RefreshOutcome::Inactive
    );
}

/// Of many concurrent refreshes with one token exactly one rotates it; the others find it
/// superseded.
pub async fn racing_refreshes_with_one_token_rotate_it_once(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    start_session(&*store, user.id, 1).await;
    let attempts: Vec<_> = (0..8u8)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .rotate_refresh_token(&rotation(1, 10 + n, 60), no_audit())
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            RefreshOutcome::Rotated(..) => rotated += 1,
            RefreshOutcome::Superseded => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
}

/// Revoking a session is scoped to its owner and keeps the first revocation; signing out
/// everywhere revokes every session of the user (not another user's) and bumps the
/// credentials version in the same transaction.
pub async fn revoking_sessions_is_scoped_and_signing_out_everywhere_bumps_credentials(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let first = start_session(&*store, ada.id, 1).await;
    let second = start_session(&*store, ada.id, 2).await;
    let graces = start_session(&*store, grace.id, 3).await;

    assert!(matches!(
        store
            .revoke_session(
                grace.id,
                first.id,
                instant(10),
                SessionRevocation::Logout,
                &[]
            )
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .revoke_session(
            ada.id,
            first.id,
            instant(10),
            SessionRevocation::Logout,
            &[],
        )
        .await
        .unwrap();
    store
        .revoke_session(ada.id, first.id, instant(20), SessionRevocation::Reuse, &[])
        .await
        .unwrap();
    let logged_out = store.get_session(first.id).await.unwrap();
    assert_eq!(logged_out.revoked_at, Some(instant(10)));
    assert_eq!(logged_out.revoked_reason, Some(SessionRevocation::Logout));

    let after = store
        .revoke_all_sessions(ada.id, instant(30), &[])
        .await
        .unwrap();
    assert_eq!(after.credentials_version, ada.credentials_version + 1);
    assert_eq!(store.get_user(ada.id).await.unwrap(), after);
    let everywhere = store.get_session(second.id).await.unwrap();
    assert_eq!(everywhere.revoked_at, Some(instant(30)));
    assert_eq!(
        everywhere.revoked_reason,
        Some(SessionRevocation::SignOutEverywhere)
    );
    assert_eq!(
        store.get_session(first.id).await.unwrap().revoked_reason,
        Some(SessionRevocation::Logout)
    );
    assert!(
        store
            .get_session(graces.id)
            .await
            .unwrap()
            .is_active(instant(30))
    );
    assert_eq!(
        store.get_user(grace.id).await.unwrap().credentials_version,
        grace.credentials_version
    );
    assert!(matches!(
        store.get_session(SessionId(Uuid::now_v7())).await,
        Err(StoreError::NotFound)
    ));
}

/// Starting a session prunes its owner's sessions that expired before it.
pub async fn a_new_session_prunes_its_owners_expired_sessions(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let old = start_session(&*store, user.id, 1).await;
    let later = AuthSession {
        id: SessionId(Uuid::now_v7()),
        created_at: instant(100_000),
        refreshed_at: instant(100_000),
        expires_at: instant(200_000),
        ..old.clone()
    };
    store
        .insert_session(
            &NewAuthSession {
                session: later.clone(),
                refresh_hash: hash(2),
            },
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(
        store.get_session(old.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .find_session_by_refresh(&hash(1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.get_session(later.id).await.unwrap(), later);
}
