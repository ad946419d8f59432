//! Accounts and API tokens.

use std::sync::Arc;

use chrono::TimeDelta;
use tickler_domain::{ApiTokenId, Email, TimeZone, UserId};
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{ApiToken, Conflict, NewApiToken, RegistrationRule, StoreError};

/// A new account reads back by id and by e-mail, with its password hash.
pub async fn a_registered_user_reads_back_by_id_and_by_email(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    assert_eq!(store.get_user(user.id).await.unwrap(), user);
    let credentials = store
        .find_credentials(&user.email)
        .await
        .unwrap()
        .expect("credentials by e-mail");
    assert_eq!(credentials.user, user);
    assert_eq!(credentials.password_hash, "$argon2id$hash");
    let nobody = Email::parse("nobody@example.org").unwrap();
    assert!(store.find_credentials(&nobody).await.unwrap().is_none());
}

/// A second account with the same e-mail is refused.
pub async fn registering_an_email_twice_conflicts_with_email_taken(backend: &dyn TestBackend) {
    let store = backend.open().await;
    register(&*store, "ada@example.org").await;
    let again = new_user("ada@example.org");
    let error = store
        .insert_user(&again, "$argon2id$other", RegistrationRule::Open, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::EmailTaken)),
        "{error:?}"
    );
    assert!(matches!(
        store.get_user(again.id).await,
        Err(StoreError::NotFound)
    ));
}

/// The same account id cannot be registered twice.
pub async fn registering_a_user_id_twice_conflicts_with_already_exists(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let mut twin = new_user("grace@example.org");
    twin.id = user.id;
    let error = store
        .insert_user(&twin, "$argon2id$other", RegistrationRule::Open, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyExists)),
        "{error:?}"
    );
}

/// Under the first-user-only rule the first registration succeeds and the next is refused.
pub async fn first_user_only_registration_is_refused_once_an_account_exists(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let first = new_user("ada@example.org");
    store
        .insert_user(
            &first,
            "$argon2id$hash",
            RegistrationRule::FirstUserOnly,
            &[],
        )
        .await
        .unwrap();
    let second = new_user("grace@example.org");
    let error = store
        .insert_user(
            &second,
            "$argon2id$hash",
            RegistrationRule::FirstUserOnly,
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::UsersExist)),
        "{error:?}"
    );
    // The open rule still lets anyone in.
    store
        .insert_user(&second, "$argon2id$hash", RegistrationRule::Open, &[])
        .await
        .unwrap();
}

/// Concurrent first registrations: exactly one wins, the others see `UsersExist`.
pub async fn racing_first_registrations_let_exactly_one_win(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let attempts: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let user = new_user(&format!("user{n}@example.org"));
                store
                    .insert_user(
                        &user,
                        "$argon2id$hash",
                        RegistrationRule::FirstUserOnly,
                        &[],
                    )
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(Conflict::UsersExist)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(won, 1);
}

/// A profile update is saved; the password hash changes only when one is given, and then
/// every API token is revoked with it.
pub async fn updating_a_user_changes_the_profile_and_optionally_the_password(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let mut user = register(&*store, "ada@example.org").await;
    user.name = None;
    user.timezone = TimeZone::parse("Europe/Berlin").unwrap();
    user.updated_at = instant(60);
    store.update_user(&user, None, no_audit()).await.unwrap();
    assert_eq!(store.get_user(user.id).await.unwrap(), user);
    let credentials = store.find_credentials(&user.email).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, "$argon2id$hash");

    // A new password also revokes every API token and signs out everywhere, which moves the
    // credentials version once more.
    store
        .insert_api_token(&token(user.id, "laptop", 0, 7), &[])
        .await
        .unwrap();
    user.credentials_version = 2;
    let update = store
        .update_user(&user, Some("$argon2id$new"), no_audit())
        .await
        .unwrap();
    assert_eq!(update.api_tokens_revoked, 1);
    assert!(store.list_api_tokens(user.id).await.unwrap().is_empty());
    let credentials = store.find_credentials(&user.email).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, "$argon2id$new");
    assert_eq!(credentials.user.credentials_version, 3);
    assert_eq!(credentials.user, update.user);
}

/// Reading or updating an account that does not exist is `NotFound`.
pub async fn unknown_users_are_not_found(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ghost = new_user("ghost@example.org");
    assert!(matches!(
        store.get_user(ghost.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_user(&ghost, None, no_audit()).await,
        Err(StoreError::NotFound)
    ));
}

pub(super) fn token(owner: UserId, name: &str, created_seconds: i64, secret: u8) -> NewApiToken {
    NewApiToken {
        token: ApiToken {
            id: ApiTokenId::from_uuid(Uuid::now_v7()),
            owner,
            name: name.into(),
            prefix: format!("tkl_{name}"),
            created_at: instant(created_seconds),
            last_used_at: None,
            expires_at: Some(instant(created_seconds) + TimeDelta::days(30)),
            scopes: vec!["read".into()],
        },
        secret_hash: vec![secret; 32],
    }
}

/// A token is found by the hash of its secret, together with its owner.
pub async fn api_tokens_are_found_by_secret_hash_with_their_owner(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let new = token(user.id, "laptop", 0, 7);
    store.insert_api_token(&new, &[]).await.unwrap();
    let (found, owner) = store
        .find_api_token(&[7; 32])
        .await
        .unwrap()
        .expect("token by hash");
    assert_eq!(found, new.token);
    assert_eq!(owner, user);
    assert!(store.find_api_token(&[8; 32]).await.unwrap().is_none());
}

/// Tokens are listed newest first, each user seeing only their own.
pub async fn api_tokens_are_listed_newest_first_and_only_for_their_owner(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    for (name, created, secret) in [("old", 0, 1), ("new", 20, 2), ("middle", 10, 3)] {
        store
            .insert_api_token(&token(ada.id, name, created, secret), &[])
            .await
            .unwrap();
    }
    store
        .insert_api_token(&token(grace.id, "graces", 5, 4), &[])
        .await
        .unwrap();
    let names: Vec<String> = store
        .list_api_tokens(ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|token| token.name)
        .collect();
    assert_eq!(names, ["new", "middle", "old"]);
    assert_eq!(store.list_api_tokens(grace.id).await.unwrap().len(), 1);
}

/// Only the owner can revoke a token; someone else's attempt is `NotFound` and changes nothing.
pub async fn deleting_an_api_token_is_scoped_to_its_owner(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let mallory = register(&*store, "mallory@example.org").await;
    let new = token(ada.id, "laptop", 0, 7);
    store.insert_api_token(&new, &[]).await.unwrap();
    assert!(matches!(
        store.delete_api_token(mallory.id, new.token.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.find_api_token(&[7; 32]).await.unwrap().is_some());
    store
        .delete_api_token(ada.id, new.token.id, &[])
        .await
        .unwrap();
    assert!(store.find_api_token(&[7; 32]).await.unwrap().is_none());
    assert!(store.list_api_tokens(ada.id).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_api_token(ada.id, new.token.id, &[]).await,
        Err(StoreError::NotFound)
    ));
}

/// Touching a token records when it was last used.
pub async fn touching_an_api_token_records_its_last_use(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let new = token(ada.id, "laptop", 0, 7);
    store.insert_api_token(&new, &[]).await.unwrap();
    store
        .touch_api_token(new.token.id, instant(90))
        .await
        .unwrap();
    let (found, _) = store.find_api_token(&[7; 32]).await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(instant(90)));
}

/// Two tokens cannot share a secret hash.
pub async fn a_reused_token_secret_hash_conflicts(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    store
        .insert_api_token(&token(ada.id, "one", 0, 7), &[])
        .await
        .unwrap();
    let error = store
        .insert_api_token(&token(ada.id, "two", 1, 7), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyExists)),
        "{error:?}"
    );
}

/// Operator rights change only through `set_operator`, by e-mail: a new account has none, a
/// grant shows on every read of the account, a revoke takes them away, an unknown address is
/// `NotFound`.
pub async fn operator_rights_are_granted_and_revoked_by_email(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let ops = register(&*store, "ops@example.org").await;
    assert!(!ops.operator);
    assert!(store.list_operators().await.unwrap().is_empty());
    let granted = store
        .set_operator(&ops.email, true, no_audit())
        .await
        .unwrap();
    assert!(granted.operator);
    assert_eq!(granted.id, ops.id);
    assert!(store.get_user(ops.id).await.unwrap().operator);
    let credentials = store.find_credentials(&ops.email).await.unwrap().unwrap();
    assert!(credentials.user.operator);
    assert_eq!(credentials.password_hash, "$argon2id$hash");
    assert!(!store.get_user(ada.id).await.unwrap().operator);
    assert_eq!(store.list_operators().await.unwrap(), vec![granted]);
    // A profile change keeps the rights (they are not the user's to write).
    let mut renamed = store.get_user(ops.id).await.unwrap();
    renamed.name = Some("Ops".into());
    store.update_user(&renamed, None, no_audit()).await.unwrap();
    assert!(store.get_user(ops.id).await.unwrap().operator);

    let revoked = store
        .set_operator(&ops.email, false, no_audit())
        .await
        .unwrap();
    assert!(!revoked.operator);
    assert!(store.list_operators().await.unwrap().is_empty());
    let nobody = Email::parse("nobody@example.org").unwrap();
    assert!(matches!(
        store.set_operator(&nobody, true, no_audit()).await,
        Err(StoreError::NotFound)
    ));
}
