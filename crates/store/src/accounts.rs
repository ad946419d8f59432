//! The accounts part of the storage port: users and their credentials, operator rights,
//! personal API tokens, calendar feed tokens and sign-in sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{ApiTokenId, CalendarFeedId, Email, User, UserId};

use crate::error::StoreError;
use crate::events::{AuditOf, AuditRecord};
use crate::feeds::{CalendarFeed, NewCalendarFeed};
use crate::records::{ApiToken, NewApiToken, RegistrationRule, UserCredentials, UserUpdate};
use crate::sessions::{
    AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId, SessionRevocation,
};

/// Accounts and what proves who is calling: users with their password hashes and operator
/// rights, personal API tokens and calendar feeds (each found by the keyed hash of its secret,
/// with its owner; see [`crate::feeds`]) and sign-in sessions with their rotating refresh
/// tokens (see [`crate::sessions`]).
///
/// Every account change (registration, profile and password, sessions, API tokens, calendar
/// feeds, operator rights; and, in their own traits, notification channels and snoozes) takes
/// its audit rows (`audit`, an [`AuditRecord`] slice or an [`AuditOf`] builder) and appends
/// them, through the owner's hash chain as [`ChangeSet::audit`](crate::ChangeSet::audit)
/// does, in the change's own transaction: the change and its rows commit together or not at
/// all. A change that fails (not found, a conflict) writes no row.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account. [`Conflict::EmailTaken`](crate::Conflict::EmailTaken) if the e-mail is registered,
    /// [`Conflict::UsersExist`](crate::Conflict::UsersExist) if `rule` is [`RegistrationRule::FirstUserOnly`] and an account
    /// exists (checked in the same transaction as the insert).
    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        rule: RegistrationRule,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Returns whether any account exists (checked before the costly part of a first-user-only
    /// registration; the insert checks again in its transaction).
    async fn has_users(&self) -> Result<bool, StoreError>;

    /// Finds an account and its password hash by e-mail.
    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError>;

    /// Reads an account.
    async fn get_user(&self, id: UserId) -> Result<User, StoreError>;

    /// Saves a changed profile (name, time zone, `updated_at`, `credentials_version`) and, when
    /// given, a new password hash. A new password also revokes every API token and signs out
    /// every session (as [`AccountStore::revoke_all_sessions`]) in the same transaction:
    /// whoever knew the old one may hold a credential made with it. Returns the account as it
    /// is now and how many API tokens were revoked.
    async fn update_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        audit: AuditOf<UserUpdate>,
    ) -> Result<UserUpdate, StoreError>;

    /// Grants (`true`) or revokes (`false`) operator rights to the account with this e-mail;
    /// returns the account as it is now. `NotFound` if no account has the address.
    async fn set_operator(
        &self,
        email: &Email,
        operator: bool,
        audit: AuditOf<User>,
    ) -> Result<User, StoreError>;

    /// Lists the accounts with operator rights, by e-mail.
    async fn list_operators(&self) -> Result<Vec<User>, StoreError>;

    /// Stores a new personal API token.
    async fn insert_api_token(
        &self,
        token: &NewApiToken,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Lists a user's API tokens, newest first.
    async fn list_api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes (deletes) one of the user's API tokens.
    async fn delete_api_token(
        &self,
        owner: UserId,
        id: ApiTokenId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Finds the token whose secret has this keyed hash, with its owner.
    async fn find_api_token(
        &self,
        secret_hash: &[u8],
    ) -> Result<Option<(ApiToken, User)>, StoreError>;

    /// Records that a token was used at `at`.
    async fn touch_api_token(&self, id: ApiTokenId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Stores a new calendar feed. `NotFound` if its owner does not exist;
    /// [`Conflict::AlreadyExists`](crate::Conflict::AlreadyExists) if its id or token hash is taken.
    async fn insert_calendar_feed(
        &self,
        feed: &NewCalendarFeed,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Lists a user's calendar feeds, newest first.
    async fn list_calendar_feeds(&self, owner: UserId) -> Result<Vec<CalendarFeed>, StoreError>;

    /// Revokes (deletes) one of the user's calendar feeds; another user's is `NotFound`.
    async fn delete_calendar_feed(
        &self,
        owner: UserId,
        id: CalendarFeedId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Finds the feed whose token has this keyed hash, with its owner.
    async fn find_calendar_feed(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(CalendarFeed, User)>, StoreError>;

    /// Stores a new session with its first refresh token, and deletes its owner's sessions
    /// that expired before `session.created_at` (so they do not pile up).
    async fn insert_session(
        &self,
        session: &NewAuthSession,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Reads a session (active or not).
    async fn get_session(&self, id: SessionId) -> Result<AuthSession, StoreError>;

    /// Finds the session a refresh token (by keyed hash) belongs to, whether or not the token
    /// was rotated since.
    async fn find_session_by_refresh(
        &self,
        refresh_hash: &[u8],
    ) -> Result<Option<AuthSession>, StoreError>;

    /// Exchanges a refresh token for its successor, atomically (see [`RefreshOutcome`]): of
    /// two concurrent refreshes with one token, exactly one rotates it. When the outcome is
    /// [`RefreshOutcome::ReuseDetected`], the rows `on_reuse` builds from the revoked session
    /// are written in the transaction that revokes it.
    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
        on_reuse: AuditOf<AuthSession>,
    ) -> Result<RefreshOutcome, StoreError>;

    /// Revokes one of the user's sessions at `at` (a revoked one keeps its first revocation).
    /// `NotFound` for another user's session.
    async fn revoke_session(
        &self,
        owner: UserId,
        id: SessionId,
        at: DateTime<Utc>,
        reason: SessionRevocation,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Signs the user out everywhere in one transaction: revokes every active session and
    /// increments the user's `credentials_version`, which revokes every access token issued
    /// before. Returns the user as it is now.
    async fn revoke_all_sessions(
        &self,
        owner: UserId,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<User, StoreError>;
}
