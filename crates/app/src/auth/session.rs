//! Sign-in sessions: short-lived access tokens (JWTs naming their session as `sid`) and
//! rotating refresh tokens, for JSON clients and for the web app alike.
//!
//! - Signing in (register, login) starts a session with a refresh token (`tkr_` + 256 random
//!   bits), stored only as a keyed hash (HMAC-SHA256 under a key derived from the server
//!   secret, like API tokens).
//! - [`App::refresh_session`] exchanges a refresh token for a new access token and a new
//!   refresh token; the old one is spent. Presenting a spent token again is reuse: the session
//!   (the whole family of tokens descended from one sign-in) is revoked, which signs out both
//!   whoever stole a token and its owner. A token spent less than [`REUSE_GRACE`] ago is only
//!   *superseded* (409, nothing revoked): two tabs of one browser refreshing at once.
//! - An access token stops working when its session is revoked (checked against the store at
//!   most every `user_cache_ttl` per process, like the credentials version) or expires.
//! - [`App::sign_out_everywhere`] revokes every session of the user and bumps the credentials
//!   version, which revokes every access token issued before, sessions or not.
//! - The CSRF token of a session (for browsers sending cookies) is an HMAC of the session id
//!   under its own derived key: checking it needs no storage, and it cannot be forged for
//!   another session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::RwLock;
use sha2::Sha256;
use tickler_domain::{User, UserId};
use tickler_store::{
    AuditOf, AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId,
    SessionRevocation, StoreError,
};

use super::Session;
use super::api_token::{TokenHasher, hmac_sha256, random_secret};
use crate::audit::{ChangedBy, account_change};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Every refresh token starts with this (secret scanners recognise it; it is never a bearer
/// credential).
pub const REFRESH_TOKEN_PREFIX: &str = "tkr_";
/// A refresh token spent less than this long ago is superseded, not reused (the default of
/// `AuthSettings::refresh_reuse_grace`).
pub const REUSE_GRACE: Duration = Duration::from_secs(10);
/// Longest refresh token accepted (longer input is not looked up).
const MAX_REFRESH_TOKEN_LEN: usize = 128;

/// Who a verified bearer credential belongs to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The account.
    pub user: User,
    /// The sign-in session of an access token (none for API tokens and older access tokens).
    pub session: Option<SessionId>,
    /// What the credential may do: an API token's scopes, every scope for an access token.
    pub scopes: super::Scopes,
}

/// The keys of the session mechanism, derived from the server secret.
pub(crate) struct SessionKeys {
    refresh_hasher: TokenHasher,
    csrf_key: Vec<u8>,
    /// The keys of server secrets this one replaced: they recognise, never issue.
    previous: Vec<SessionKeys>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

impl SessionKeys {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            refresh_hasher: TokenHasher::for_purpose(secret, b"tickler refresh token hashing v1"),
            csrf_key: hmac_sha256(secret, b"tickler csrf token v1"),
            previous: Vec::new(),
        }
    }

    /// Also recognises refresh and CSRF tokens made under these earlier server secrets.
    pub(crate) fn with_previous(mut self, secrets: &[Vec<u8>]) -> Self {
        self.previous = secrets.iter().map(|secret| Self::new(secret)).collect();
        self
    }

    /// The hashes a presented refresh token may be stored under: the current key's first.
    fn refresh_hashes(&self, refresh_token: &str) -> impl Iterator<Item = Vec<u8>> {
        std::iter::once(self)
            .chain(&self.previous)
            .map(move |keys| keys.refresh_hasher.hash(refresh_token))
    }

    fn csrf_mac(&self, session: SessionId) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so construction cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.csrf_key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac accepts keys of any length"),
        };
        mac.update(session.0.as_bytes());
        mac
    }
}

/// Which sessions this process saw active, and when: a revoked session's access tokens stop
/// working here within the cache's lifetime.
#[derive(Debug, Default)]
pub(crate) struct ActiveSessions {
    seen: RwLock<HashMap<SessionId, Instant>>,
}

impl ActiveSessions {
    fn fresh(&self, id: SessionId, now: Instant, ttl: Duration) -> bool {
        self.seen
            .read()
            .get(&id)
            .is_some_and(|seen| now.duration_since(*seen) < ttl)
    }

    fn remember(&self, id: SessionId, now: Instant, ttl: Duration) {
        let mut seen = self.seen.write();
        if seen.len() >= 10_000 {
            seen.retain(|_, at| now.duration_since(*at) < ttl);
        }
        seen.insert(id, now);
    }

    fn forget(&self, id: SessionId) {
        self.seen.write().remove(&id);
    }

    pub(crate) fn forget_all(&self) {
        self.seen.write().clear();
    }
}

impl App {
    /// Starts a session for a user who just proved who they are.
    pub(crate) async fn start_session(&self, user: User) -> AppResult<Session> {
        let now = self.now();
        let refresh_token = random_secret(REFRESH_TOKEN_PREFIX)?;
        let session = AuthSession {
            id: SessionId(self.new_uuid()),
            owner: user.id,
            created_at: now,
            refreshed_at: now,
            expires_at: now + self.refresh_ttl(),
            revoked_at: None,
            revoked_reason: None,
        };
        let audit = self
            .account_change(ChangedBy::Request, account_change::SESSION_STARTED)
            .record(
                user.id,
                None,
                serde_json::json!({ "session_id": session.id.to_string() }),
            );
        self.store
            .insert_session(
                &NewAuthSession {
                    session: session.clone(),
                    refresh_hash: self.auth.session_keys.refresh_hasher.hash(&refresh_token),
                },
                &[audit],
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::Unauthenticated("the account no longer exists"),
                other => other.into(),
            })?;
        self.session_tokens(user, session.id, refresh_token)
    }

    /// Exchanges a refresh token for a new access token and a new refresh token.
    pub async fn refresh_session(&self, refresh_token: &str) -> AppResult<Session> {
        if !plausible_refresh_token(refresh_token) {
            return Err(AppError::RefreshTokenInvalid);
        }
        let now = self.now();
        let successor = random_secret(REFRESH_TOKEN_PREFIX)?;
        let keys = &self.auth.session_keys;
        let reused = self.account_change(ChangedBy::Request, account_change::REFRESH_TOKEN_REUSED);
        let on_reuse: AuditOf<AuthSession> = Arc::new(move |revoked: &AuthSession| {
            vec![reused.record(
                revoked.owner,
                None,
                serde_json::json!({ "session_id": revoked.id.to_string(), "session_revoked": true }),
            )]
        });
        let mut outcome = RefreshOutcome::Unknown;
        for presented_hash in keys.refresh_hashes(refresh_token) {
            outcome = self
                .store
                .rotate_refresh_token(
                    &RefreshRotation {
                        presented_hash,
                        successor_hash: keys.refresh_hasher.hash(&successor),
                        now,
                        expires_at: now + self.refresh_ttl(),
                        reuse_grace: TimeDelta::from_std(self.auth.settings.refresh_reuse_grace)
                            .unwrap_or(TimeDelta::seconds(10)),
                    },
                    on_reuse.clone(),
                )
                .await?;
            if !matches!(outcome, RefreshOutcome::Unknown) {
                break;
            }
        }
        match outcome {
            RefreshOutcome::Rotated(session, user) => {
                self.session_tokens(*user, session.id, successor)
            }
            RefreshOutcome::Unknown | RefreshOutcome::Inactive => {
                Err(AppError::RefreshTokenInvalid)
            }
            RefreshOutcome::Superseded => Err(AppError::RefreshTokenSuperseded),
            RefreshOutcome::ReuseDetected(session) => {
                self.auth.active_sessions.forget(session);
                tracing::warn!(session_id = %session, "refresh token reuse: session revoked");
                Err(AppError::RefreshTokenReused)
            }
        }
    }

    /// Returns the session a refresh token belongs to (spent or not), to check the CSRF token
    /// of a browser presenting it in a cookie before acting on it.
    pub async fn session_of_refresh_token(&self, refresh_token: &str) -> AppResult<SessionId> {
        if !plausible_refresh_token(refresh_token) {
            return Err(AppError::RefreshTokenInvalid);
        }
        self.session_by_refresh_token(refresh_token)
            .await
            .map(|session| session.id)
    }

    /// Finds the session of a refresh token made under the current key or an earlier one.
    async fn session_by_refresh_token(&self, refresh_token: &str) -> AppResult<AuthSession> {
        for hash in self.auth.session_keys.refresh_hashes(refresh_token) {
            if let Some(session) = self.store.find_session_by_refresh(&hash).await? {
                return Ok(session);
            }
        }
        Err(AppError::RefreshTokenInvalid)
    }

    /// Signs out of the session a refresh token belongs to. Succeeds for a token of a session
    /// already revoked; an unknown token is [`AppError::RefreshTokenInvalid`].
    pub async fn end_session_by_refresh_token(&self, refresh_token: &str) -> AppResult<()> {
        if !plausible_refresh_token(refresh_token) {
            return Err(AppError::RefreshTokenInvalid);
        }
        let session = self.session_by_refresh_token(refresh_token).await?;
        self.end_session(session.owner, session.id).await
    }

    /// Signs the user out of one of their sessions: its refresh token and its access tokens
    /// stop working.
    pub async fn end_session(&self, owner: UserId, session: SessionId) -> AppResult<()> {
        let audit = self
            .account_change(ChangedBy::Request, account_change::SESSION_ENDED)
            .record(
                owner,
                None,
                serde_json::json!({ "session_id": session.to_string() }),
            );
        self.store
            .revoke_session(
                owner,
                session,
                self.now(),
                SessionRevocation::Logout,
                &[audit],
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::SessionNotFound,
                other => other.into(),
            })?;
        self.auth.active_sessions.forget(session);
        tracing::info!(user_id = %owner, session_id = %session, "signed out");
        Ok(())
    }

    /// Signs the caller out everywhere: every session is revoked and every access token issued
    /// so far stops working (personal API tokens are not affected; revoke them one by one).
    pub async fn sign_out_everywhere(&self, actor: &Actor) -> AppResult<()> {
        let audit = self
            .account_change(
                ChangedBy::Actor(actor),
                account_change::SIGNED_OUT_EVERYWHERE,
            )
            .record(actor.user.id, None, serde_json::json!({}));
        self.store
            .revoke_all_sessions(actor.user.id, self.now(), &[audit])
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::Unauthenticated("the account no longer exists"),
                other => other.into(),
            })?;
        self.auth.forget_user(actor.user.id);
        self.auth.active_sessions.forget_all();
        tracing::info!(user_id = %actor.user.id, "signed out everywhere");
        Ok(())
    }

    /// Returns the CSRF token of a session: what a browser sending the session's cookies must
    /// echo in a header on every state-changing request.
    pub fn csrf_token(&self, session: SessionId) -> String {
        URL_SAFE_NO_PAD.encode(
            self.auth
                .session_keys
                .csrf_mac(session)
                .finalize()
                .into_bytes(),
        )
    }

    /// Returns whether `presented` is the CSRF token of `session` (compared in constant time).
    pub fn csrf_token_matches(&self, session: SessionId, presented: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
            return false;
        };
        let keys = &self.auth.session_keys;
        std::iter::once(keys)
            .chain(&keys.previous)
            .any(|keys| keys.csrf_mac(session).verify_slice(&bytes).is_ok())
    }

    /// Fails unless the access token's session is still active and the user's.
    pub(crate) async fn check_session(
        &self,
        user: UserId,
        session: Option<SessionId>,
    ) -> AppResult<Option<SessionId>> {
        let Some(id) = session else {
            return Ok(None);
        };
        let now = Instant::now();
        let ttl = self.auth.settings.user_cache_ttl;
        if self.auth.active_sessions.fresh(id, now, ttl) {
            return Ok(Some(id));
        }
        let session = match self.store.get_session(id).await {
            Ok(session) => session,
            Err(StoreError::NotFound) => {
                return Err(AppError::Unauthenticated("the session has ended"));
            }
            Err(error) => return Err(error.into()),
        };
        if session.owner != user || !session.is_active(self.now()) {
            return Err(AppError::Unauthenticated("the session has ended"));
        }
        self.auth.active_sessions.remember(id, now, ttl);
        Ok(Some(id))
    }

    fn refresh_ttl(&self) -> TimeDelta {
        TimeDelta::from_std(self.auth.settings.refresh_token_ttl).unwrap_or(TimeDelta::days(30))
    }

    fn session_tokens(
        &self,
        user: User,
        session: SessionId,
        refresh_token: String,
    ) -> AppResult<Session> {
        let ttl = self.auth.settings.access_token_ttl;
        let sid = session.to_string();
        let access_token = self.auth.signer.issue(
            user.id,
            user.credentials_version,
            Some(&sid),
            self.now(),
            TimeDelta::from_std(ttl).unwrap_or(TimeDelta::minutes(15)),
        )?;
        Ok(Session {
            access_token,
            expires_in: ttl.as_secs(),
            refresh_token,
            refresh_expires_in: self.auth.settings.refresh_token_ttl.as_secs(),
            csrf_token: self.csrf_token(session),
            session,
            user,
        })
    }
}

fn plausible_refresh_token(token: &str) -> bool {
    token.starts_with(REFRESH_TOKEN_PREFIX) && token.len() <= MAX_REFRESH_TOKEN_LEN
}
