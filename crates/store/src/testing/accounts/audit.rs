//! Account changes and their audit rows: every account-changing method writes the rows it is
//! given in the change's own transaction, through the owner's hash chain; a change that fails
//! (not found, a conflict, a wrong code) writes none; and a row that cannot be written undoes
//! its change.

use std::sync::Arc;

use tickler_domain::{ChannelKind, Email, User, UserId};

use super::feeds::new_feed;
use super::sessions::{new_session, rotation};
use super::users::token;
use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::testing::notifications::channel;
use crate::{
    AuditOf, AuditRecord, AuthSession, ChangeSet, Conflict, NotificationChannel, RefreshOutcome,
    RegistrationRule, SessionRevocation, StoreError, UserUpdate,
};

/// An e-mail channel (not stored yet) waiting for the code `right`, valid until
/// `instant(100)`.
fn pending_email(owner: UserId, seconds: i64) -> NotificationChannel {
    NotificationChannel {
        verified_at: None,
        verification_code_hash: Some(b"right".to_vec()),
        verification_expires_at: Some(instant(100)),
        ..channel(owner, ChannelKind::Email, seconds)
    }
}

/// Each account change commits with the rows it is given (or builds from what it found), in
/// its owner's chain and in the order the changes were made; a new password revokes every API
/// token and session in its own transaction and tells its rows how many tokens went.
pub async fn every_account_change_commits_with_its_audit_rows(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = new_user("ada@example.org");
    let row = |event_type: &str| [account_row(ada.id, event_type)];
    store
        .insert_user(
            &ada,
            "$argon2id$hash",
            RegistrationRule::Open,
            &row("registered"),
        )
        .await
        .unwrap();
    let mut renamed = ada.clone();
    renamed.name = Some("Ada L.".to_owned());
    renamed.updated_at = instant(10);
    let update = store
        .update_user(
            &renamed,
            None,
            row_of("profile_changed", |u: &UserUpdate| u.user.id),
        )
        .await
        .unwrap();
    assert_eq!(update.user, renamed);
    assert_eq!(update.api_tokens_revoked, 0);

    let laptop = token(ada.id, "laptop", 0, 7);
    store
        .insert_api_token(&laptop, &row("token_created"))
        .await
        .unwrap();
    store
        .delete_api_token(ada.id, laptop.token.id, &row("token_revoked"))
        .await
        .unwrap();
    let feed = new_feed(ada.id, "Work", None, 0, 9);
    store
        .insert_calendar_feed(&feed, &row("feed_created"))
        .await
        .unwrap();
    store
        .delete_calendar_feed(ada.id, feed.feed.id, &row("feed_revoked"))
        .await
        .unwrap();

    let first = new_session(ada.id, 1);
    store
        .insert_session(&first, &row("session_started"))
        .await
        .unwrap();
    store
        .revoke_session(
            ada.id,
            first.session.id,
            instant(20),
            SessionRevocation::Logout,
            &row("session_ended"),
        )
        .await
        .unwrap();
    let second = new_session(ada.id, 2);
    store
        .insert_session(&second, &row("session_started"))
        .await
        .unwrap();
    let on_reuse = row_of("refresh_token_reused", |session: &AuthSession| {
        session.owner
    });
    let rotated = store
        .rotate_refresh_token(&rotation(2, 3, 60), on_reuse.clone())
        .await
        .unwrap();
    assert!(
        matches!(rotated, RefreshOutcome::Rotated(..)),
        "{rotated:?}"
    );
    let reused = store
        .rotate_refresh_token(&rotation(2, 4, 120), on_reuse)
        .await
        .unwrap();
    assert_eq!(reused, RefreshOutcome::ReuseDetected(second.session.id));
    store
        .revoke_all_sessions(ada.id, instant(130), &row("signed_out_everywhere"))
        .await
        .unwrap();

    let webhook = channel(ada.id, ChannelKind::Webhook, 0);
    store
        .insert_channel(&webhook, 10, &row("channel_created"))
        .await
        .unwrap();
    let disabled = NotificationChannel {
        enabled: false,
        ..webhook.clone()
    };
    store
        .update_channel(&disabled, &row("channel_updated"))
        .await
        .unwrap();
    let email = pending_email(ada.id, 1);
    store
        .insert_channel(&email, 10, &row("channel_created"))
        .await
        .unwrap();
    assert!(
        !store
            .verify_channel(
                ada.id,
                email.id,
                b"wrong",
                instant(2),
                3,
                &row("channel_verified")
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .verify_channel(
                ada.id,
                email.id,
                b"right",
                instant(3),
                3,
                &row("channel_verified")
            )
            .await
            .unwrap()
    );
    store
        .delete_channel(ada.id, webhook.id, &row("channel_deleted"))
        .await
        .unwrap();

    let phone = token(ada.id, "phone", 1, 8);
    store
        .insert_api_token(&phone, &row("token_created"))
        .await
        .unwrap();
    let third = new_session(ada.id, 5);
    store
        .insert_session(&third, &row("session_started"))
        .await
        .unwrap();
    let mut changed = store.get_user(ada.id).await.unwrap();
    changed.updated_at = instant(200);
    changed.credentials_version += 1;
    let password_changed: AuditOf<UserUpdate> = Arc::new(|update: &UserUpdate| {
        vec![AuditRecord {
            data: format!("{{\"api_tokens_revoked\":{}}}", update.api_tokens_revoked),
            ..account_row(update.user.id, "password_changed")
        }]
    });
    let update = store
        .update_user(&changed, Some("$argon2id$new"), password_changed)
        .await
        .unwrap();
    assert_eq!(update.api_tokens_revoked, 1);
    // Signing out everywhere moved the version once more.
    assert_eq!(
        update.user.credentials_version,
        changed.credentials_version + 1
    );
    assert_eq!(store.get_user(ada.id).await.unwrap(), update.user);
    assert!(store.list_api_tokens(ada.id).await.unwrap().is_empty());
    let third = store.get_session(third.session.id).await.unwrap();
    assert_eq!(third.revoked_at, Some(instant(200)));
    let credentials = store.find_credentials(&ada.email).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, "$argon2id$new");

    let granted = store
        .set_operator(
            &ada.email,
            true,
            row_of("operator_granted", |u: &User| u.id),
        )
        .await
        .unwrap();
    assert!(granted.operator);

    assert_eq!(
        audit_types(&*store, ada.id).await,
        [
            "registered",
            "profile_changed",
            "token_created",
            "token_revoked",
            "feed_created",
            "feed_revoked",
            "session_started",
            "session_ended",
            "session_started",
            "refresh_token_reused",
            "signed_out_everywhere",
            "channel_created",
            "channel_updated",
            "channel_created",
            "channel_verified",
            "channel_deleted",
            "token_created",
            "session_started",
            "password_changed",
            "operator_granted",
        ]
    );
    let trail = store.audit_chain(ada.id, 0, 1_000).await.unwrap();
    let password_row = trail
        .iter()
        .find(|link| link.record.event_type == "password_changed")
        .unwrap();
    assert_eq!(password_row.record.data, "{\"api_tokens_revoked\":1}");
}

/// A change that does not happen writes none of its rows: a taken e-mail, token hash or feed
/// token, a missing or someone else's account, token, feed, session or channel, a full
/// channel list, a wrong code, and refreshes that are not reuse.
pub async fn a_failed_account_change_writes_no_audit_row(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let ghost = new_user("ghost@example.org");
    let row = |owner: UserId| [account_row(owner, "change")];
    let conflict = |result: Result<(), StoreError>| {
        assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    };
    let not_found = |result: Result<(), StoreError>| {
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    };

    let twin = new_user("ada@example.org");
    conflict(
        store
            .insert_user(
                &twin,
                "$argon2id$hash",
                RegistrationRule::Open,
                &row(twin.id),
            )
            .await,
    );
    let stranger = new_user("stranger@example.org");
    let refused = store
        .insert_user(
            &stranger,
            "$argon2id$hash",
            RegistrationRule::FirstUserOnly,
            &row(stranger.id),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::UsersExist))),
        "{refused:?}"
    );
    not_found(
        store
            .update_user(&ghost, None, row_of("change", |u: &UserUpdate| u.user.id))
            .await
            .map(drop),
    );
    let nobody = Email::parse("nobody@example.org").unwrap();
    not_found(
        store
            .set_operator(&nobody, true, row_of("change", |u: &User| u.id))
            .await
            .map(drop),
    );

    let laptop = token(ada.id, "laptop", 0, 7);
    store.insert_api_token(&laptop, &[]).await.unwrap();
    conflict(
        store
            .insert_api_token(&token(ada.id, "twin", 1, 7), &row(ada.id))
            .await,
    );
    not_found(
        store
            .delete_api_token(grace.id, laptop.token.id, &row(grace.id))
            .await,
    );
    let feed = new_feed(ada.id, "Work", None, 0, 9);
    store.insert_calendar_feed(&feed, &[]).await.unwrap();
    conflict(
        store
            .insert_calendar_feed(&new_feed(ada.id, "Twin", None, 1, 9), &row(ada.id))
            .await,
    );
    not_found(
        store
            .delete_calendar_feed(grace.id, feed.feed.id, &row(grace.id))
            .await,
    );

    not_found(
        store
            .insert_session(&new_session(ghost.id, 1), &row(ghost.id))
            .await,
    );
    let session = new_session(ada.id, 2);
    store.insert_session(&session, &[]).await.unwrap();
    not_found(
        store
            .revoke_session(
                grace.id,
                session.session.id,
                instant(10),
                SessionRevocation::Logout,
                &row(grace.id),
            )
            .await,
    );
    not_found(
        store
            .revoke_all_sessions(ghost.id, instant(10), &row(ghost.id))
            .await
            .map(drop),
    );
    let on_reuse = row_of("change", |session: &AuthSession| session.owner);
    let unknown = store
        .rotate_refresh_token(&rotation(99, 3, 60), on_reuse.clone())
        .await
        .unwrap();
    assert_eq!(unknown, RefreshOutcome::Unknown);
    store
        .rotate_refresh_token(&rotation(2, 3, 60), on_reuse.clone())
        .await
        .unwrap();
    // Presented again within the grace window: superseded, not reuse.
    let superseded = store
        .rotate_refresh_token(&rotation(2, 4, 65), on_reuse)
        .await
        .unwrap();
    assert_eq!(superseded, RefreshOutcome::Superseded);

    let webhook = channel(ada.id, ChannelKind::Webhook, 0);
    store.insert_channel(&webhook, 1, &[]).await.unwrap();
    let full = store
        .insert_channel(&channel(ada.id, ChannelKind::Webhook, 1), 1, &row(ada.id))
        .await;
    assert!(
        matches!(full, Err(StoreError::Conflict(Conflict::LimitReached))),
        "{full:?}"
    );
    let intrusion = NotificationChannel {
        owner: grace.id,
        enabled: false,
        ..webhook.clone()
    };
    not_found(store.update_channel(&intrusion, &row(grace.id)).await);
    not_found(
        store
            .delete_channel(grace.id, webhook.id, &row(grace.id))
            .await,
    );
    let email = pending_email(ada.id, 1);
    store.insert_channel(&email, 10, &[]).await.unwrap();
    assert!(
        !store
            .verify_channel(ada.id, email.id, b"wrong", instant(2), 3, &row(ada.id))
            .await
            .unwrap()
    );

    for owner in [ada.id, grace.id, ghost.id, twin.id, stranger.id] {
        assert!(
            audit_types(&*store, owner).await.is_empty(),
            "a failed change wrote an audit row"
        );
    }
}

/// A row that cannot be written (its event id is in the trail already) fails its change, and
/// the change is undone with it: the caller gets the error, and nothing half-done stays.
pub async fn an_audit_row_that_cannot_be_written_undoes_its_change(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let taken = account_row(ada.id, "taken");
    store
        .commit(ChangeSet {
            audit: vec![taken.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    // The same event id again, for whoever the change concerns.
    let clash = move |owner: UserId| AuditRecord {
        owner,
        ..taken.clone()
    };
    let rows = |owner: UserId| [clash(owner)];
    let refused = |result: Result<(), StoreError>| {
        assert!(
            matches!(result, Err(StoreError::Conflict(Conflict::AlreadyExists))),
            "{result:?}"
        );
    };

    let grace = new_user("grace@example.org");
    refused(
        store
            .insert_user(
                &grace,
                "$argon2id$hash",
                RegistrationRule::Open,
                &rows(grace.id),
            )
            .await,
    );
    assert!(matches!(
        store.get_user(grace.id).await,
        Err(StoreError::NotFound)
    ));

    let mut renamed = ada.clone();
    renamed.name = Some("Renamed".to_owned());
    let clash_update = clash.clone();
    let builder: AuditOf<UserUpdate> =
        Arc::new(move |u: &UserUpdate| vec![clash_update(u.user.id)]);
    refused(
        store
            .update_user(&renamed, None, builder.clone())
            .await
            .map(drop),
    );
    assert_eq!(store.get_user(ada.id).await.unwrap(), ada);

    refused(
        store
            .insert_api_token(&token(ada.id, "laptop", 0, 7), &rows(ada.id))
            .await,
    );
    assert!(store.find_api_token(&[7; 32]).await.unwrap().is_none());
    let laptop = token(ada.id, "laptop", 0, 8);
    store.insert_api_token(&laptop, &[]).await.unwrap();
    refused(
        store
            .delete_api_token(ada.id, laptop.token.id, &rows(ada.id))
            .await,
    );
    assert!(store.find_api_token(&[8; 32]).await.unwrap().is_some());

    refused(
        store
            .insert_calendar_feed(&new_feed(ada.id, "Work", None, 0, 9), &rows(ada.id))
            .await,
    );
    assert!(store.list_calendar_feeds(ada.id).await.unwrap().is_empty());
    let feed = new_feed(ada.id, "Home", None, 0, 10);
    store.insert_calendar_feed(&feed, &[]).await.unwrap();
    refused(
        store
            .delete_calendar_feed(ada.id, feed.feed.id, &rows(ada.id))
            .await,
    );
    assert!(store.find_calendar_feed(&[10; 32]).await.unwrap().is_some());

    let lost = new_session(ada.id, 1);
    refused(store.insert_session(&lost, &rows(ada.id)).await);
    assert!(matches!(
        store.get_session(lost.session.id).await,
        Err(StoreError::NotFound)
    ));
    let session = new_session(ada.id, 2);
    store.insert_session(&session, &[]).await.unwrap();
    refused(
        store
            .revoke_session(
                ada.id,
                session.session.id,
                instant(10),
                SessionRevocation::Logout,
                &rows(ada.id),
            )
            .await,
    );
    refused(
        store
            .revoke_all_sessions(ada.id, instant(10), &rows(ada.id))
            .await
            .map(drop),
    );
    store
        .rotate_refresh_token(&rotation(2, 3, 60), no_audit())
        .await
        .unwrap();
    let clash_reuse = clash.clone();
    let on_reuse: AuditOf<AuthSession> =
        Arc::new(move |revoked: &AuthSession| vec![clash_reuse(revoked.owner)]);
    refused(
        store
            .rotate_refresh_token(&rotation(2, 4, 120), on_reuse)
            .await
            .map(drop),
    );
    let still = store.get_session(session.session.id).await.unwrap();
    assert_eq!(still.revoked_at, None, "the session was revoked regardless");
    assert_eq!(
        store.get_user(ada.id).await.unwrap().credentials_version,
        ada.credentials_version
    );

    let webhook = channel(ada.id, ChannelKind::Webhook, 0);
    refused(store.insert_channel(&webhook, 10, &rows(ada.id)).await);
    assert!(store.list_channels(ada.id).await.unwrap().is_empty());
    store.insert_channel(&webhook, 10, &[]).await.unwrap();
    let disabled = NotificationChannel {
        enabled: false,
        ..webhook.clone()
    };
    refused(store.update_channel(&disabled, &rows(ada.id)).await);
    refused(
        store
            .delete_channel(ada.id, webhook.id, &rows(ada.id))
            .await,
    );
    assert_eq!(
        store.get_channel(ada.id, webhook.id).await.unwrap(),
        webhook
    );
    let email = pending_email(ada.id, 1);
    store.insert_channel(&email, 10, &[]).await.unwrap();
    refused(
        store
            .verify_channel(ada.id, email.id, b"right", instant(2), 3, &rows(ada.id))
            .await
            .map(drop),
    );
    assert_eq!(store.get_channel(ada.id, email.id).await.unwrap(), email);

    let mut changed = ada.clone();
    changed.credentials_version += 1;
    refused(
        store
            .update_user(&changed, Some("$argon2id$new"), builder)
            .await
            .map(drop),
    );
    let credentials = store.find_credentials(&ada.email).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, "$argon2id$hash");
    assert_eq!(credentials.user, ada);
    assert!(store.find_api_token(&[8; 32]).await.unwrap().is_some());
    assert_eq!(
        store
            .get_session(session.session.id)
            .await
            .unwrap()
            .revoked_at,
        None
    );

    let clash_operator = clash.clone();
    let granted: AuditOf<User> = Arc::new(move |user: &User| vec![clash_operator(user.id)]);
    refused(
        store
            .set_operator(&ada.email, true, granted)
            .await
            .map(drop),
    );
    assert!(!store.get_user(ada.id).await.unwrap().operator);

    assert_eq!(audit_types(&*store, ada.id).await, ["taken"]);
}
