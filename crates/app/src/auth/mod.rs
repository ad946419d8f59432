//! Accounts and authentication: registration, login, bearer-token verification, the profile,
//! and personal API tokens.

pub mod api_token;
pub mod jwt;
pub mod password;
pub mod scopes;
pub mod session;
pub mod throttle;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use parking_lot::RwLock;
use tickler_domain::user::{validate_name, validate_password};
use tickler_domain::{ApiTokenId, Email, FieldError, TimeZone, User, UserId, ValidationErrors};
use tickler_protocol::auth::{
    CreateApiTokenRequest, LoginRequest, RegisterRequest, UpdateMeRequest,
};
use tickler_store::{ApiToken, AuditOf, NewApiToken, RegistrationRule, StoreError, UserUpdate};

pub use self::scopes::{Scope, Scopes};
use crate::audit::{ChangedBy, account_change};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPolicy {
    /// Anyone who can reach the server.
    #[default]
    Open,
    /// Nobody (accounts exist already).
    Closed,
    /// Only the first account; registration closes once one exists.
    FirstUser,
}

/// Settings of the authentication use cases.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Who may register.
    pub registration: RegistrationPolicy,
    /// How long an access token is valid.
    pub access_token_ttl: Duration,
    /// How long a refresh token is valid (each refresh issues a new one with this lifetime).
    pub refresh_token_ttl: Duration,
    /// A refresh token presented again less than this long after its use is superseded (409),
    /// not reused (which revokes its session).
    pub refresh_reuse_grace: Duration,
    /// How long a verified user stays cached between requests (a password change on another
    /// replica takes at most this long to revoke older access tokens there).
    pub user_cache_ttl: Duration,
    /// Login and registration throttling.
    pub throttle: throttle::ThrottleSettings,
    /// Password hashes computed at once (0: one per core).
    pub password_hash_concurrency: usize,
    /// How long a request waits for a hashing slot before it is refused with 503.
    pub password_hash_queue_wait: Duration,
    /// Accounts allowed on the operator routes (dead letters) besides those granted with
    /// `tickler admin grant`, by id: an id cannot be claimed by registering, unlike an
    /// e-mail address.
    pub admin_user_ids: Vec<UserId>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            registration: RegistrationPolicy::Open,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_reuse_grace: session::REUSE_GRACE,
            user_cache_ttl: Duration::from_secs(5),
            throttle: throttle::ThrottleSettings::default(),
            password_hash_concurrency: 0,
            password_hash_queue_wait: Duration::from_secs(2),
            admin_user_ids: Vec::new(),
        }
    }
}

/// A signed-in session's credentials, as issued at sign-in and at every refresh.
#[derive(Clone)]
pub struct Session {
    /// The JWT access token.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// The refresh token (spent by its first use).
    pub refresh_token: String,
    /// Its lifetime in seconds.
    pub refresh_expires_in: u64,
    /// The session's CSRF token (for browsers sending cookies).
    pub csrf_token: String,
    /// The session.
    pub session: tickler_store::SessionId,
    /// The account.
    pub user: User,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("session", &self.session)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// Longest API token label, in characters.
const MAX_TOKEN_NAME_CHARS: usize = 100;
/// Longest API token lifetime, in days.
const MAX_TOKEN_DAYS: u32 = 3_650;
/// How often a token's `last_used_at` is written at most.
const TOKEN_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// State kept between requests by the authentication use cases.
#[derive(Debug)]
pub(crate) struct AuthState {
    pub(crate) settings: AuthSettings,
    pub(crate) signer: jwt::TokenSigner,
    /// Hashes API tokens; those made before a key rotation are still found.
    pub(crate) token_hasher: api_token::RotatingHasher,
    /// Hashes calendar feed tokens (a key of its own, so a feed token is never an API token).
    pub(crate) feed_hasher: api_token::RotatingHasher,
    /// Hashes the live stream's one-time tickets (a key of their own; they live 30 s, so a
    /// key rotation need not keep the old key for them).
    pub(crate) ticket_hasher: api_token::TokenHasher,
    pub(crate) throttle: throttle::LoginThrottle,
    pub(crate) hashing: password::PasswordHashing,
    pub(crate) session_keys: session::SessionKeys,
    pub(crate) active_sessions: session::ActiveSessions,
    users: RwLock<HashMap<UserId, (User, Instant)>>,
    token_touches: RwLock<HashMap<ApiTokenId, Instant>>,
}

impl AuthState {
    /// `previous` are server secrets the current one replaced: what they signed or hashed is
    /// still accepted; nothing new is made with them.
    pub(crate) fn new(settings: AuthSettings, secret: &[u8], previous: &[Vec<u8>]) -> Self {
        Self {
            signer: jwt::TokenSigner::new(secret).with_previous(previous),
            token_hasher: api_token::RotatingHasher::new(
                secret,
                previous,
                api_token::API_TOKEN_PURPOSE,
            ),
            feed_hasher: api_token::RotatingHasher::new(
                secret,
                previous,
                b"tickler calendar feed token hashing v1",
            ),
            ticket_hasher: api_token::TokenHasher::for_purpose(secret, b"tickler live ticket v1"),
            throttle: throttle::LoginThrottle::new(settings.throttle),
            hashing: password::PasswordHashing::new(
                settings.password_hash_concurrency,
                settings.password_hash_queue_wait,
            ),
            session_keys: session::SessionKeys::new(secret).with_previous(previous),
            active_sessions: session::ActiveSessions::default(),
            settings,
            users: RwLock::new(HashMap::new()),
            token_touches: RwLock::new(HashMap::new()),
        }
    }

    fn cached_user(&self, id: UserId, now: Instant) -> Option<User> {
        let users = self.users.read();
        let (user, fetched) = users.get(&id)?;
        (now.duration_since(*fetched) < self.settings.user_cache_ttl).then(|| user.clone())
    }

    fn cache_user(&self, user: &User, now: Instant) {
        let mut users = self.users.write();
        if users.len() >= 10_000 {
            let ttl = self.settings.user_cache_ttl;
            users.retain(|_, (_, fetched)| now.duration_since(*fetched) < ttl);
        }
        users.insert(user.id, (user.clone(), now));
    }

    pub(crate) fn forget_user(&self, id: UserId) {
        self.users.write().remove(&id);
    }

    /// Returns whether the token's use should be recorded now (at most once a minute).
    fn should_touch(&self, id: ApiTokenId, now: Instant) -> bool {
        if let Some(last) = self.token_touches.read().get(&id)
            && now.duration_since(*last) < TOKEN_TOUCH_INTERVAL
        {
            return false;
        }
        let mut touches = self.token_touches.write();
        if touches.len() >= 10_000 {
            touches.retain(|_, last| now.duration_since(*last) < TOKEN_TOUCH_INTERVAL);
        }
        touches.insert(id, now);
        true
    }
}

impl App {
    /// Creates an account and signs it in. `address` is the client's address, used for
    /// throttling. Everything cheap is checked before the password is hashed (the rule, the
    /// client network's share, the fields), and the hash waits for a slot
    /// ([`password::PasswordHashing`]), so a burst of registrations costs neither memory nor
    /// every core.
    pub async fn register(
        &self,
        request: RegisterRequest,
        address: Option<IpAddr>,
    ) -> AppResult<Session> {
        let rule = match self.auth.settings.registration {
            RegistrationPolicy::Closed => return Err(AppError::RegistrationClosed),
            RegistrationPolicy::Open => RegistrationRule::Open,
            RegistrationPolicy::FirstUser => {
                if self.store.has_users().await? {
                    return Err(AppError::RegistrationClosed);
                }
                RegistrationRule::FirstUserOnly
            }
        };
        self.auth
            .throttle
            .admit_registration(address, Instant::now())
            .map_err(|retry_after_seconds| AppError::TooManyAttempts {
                retry_after_seconds,
            })?;
        let email = Email::parse(&request.email);
        let password = validate_password("password", &request.password);
        let name = validate_name(request.name.as_deref().unwrap_or(""));
        let timezone = parse_zone(request.timezone.as_deref().unwrap_or("UTC"));
        let (email, (), name, timezone) =
            tickler_domain::all_valid!(email, password, name, timezone)?;
        let password_hash = self.auth.hashing.hash(request.password).await?;
        let now = self.now();
        let user = User {
            id: UserId::from_uuid(self.new_uuid()),
            email,
            name,
            timezone,
            created_at: now,
            updated_at: now,
            credentials_version: 0,
            operator: false,
        };
        let audit = self
            .account_change(ChangedBy::Request, account_change::REGISTERED)
            .record(
                user.id,
                None,
                serde_json::json!({ "timezone": user.timezone.name() }),
            );
        self.store
            .insert_user(&user, &password_hash, rule, &[audit])
            .await
            .map_err(AppError::from)?;
        tracing::info!(user_id = %user.id, "account registered");
        self.start_session(user).await
    }

    /// Signs in with e-mail and password. `address` is the client's address, used for
    /// throttling: the guess is counted before the password is verified.
    pub async fn login(
        &self,
        request: LoginRequest,
        address: Option<IpAddr>,
    ) -> AppResult<Session> {
        let account = request.email.trim().to_lowercase();
        let guess = self
            .auth
            .throttle
            .admit(&account, address, Instant::now())
            .map_err(|retry_after_seconds| AppError::TooManyAttempts {
                retry_after_seconds,
            })?;
        let credentials = match Email::parse(&account) {
            Ok(email) => self.store.find_credentials(&email).await?,
            Err(_) => None,
        };
        let (phc, user) = match credentials {
            Some(credentials) => (credentials.password_hash, Some(credentials.user)),
            None => (password::DECOY_HASH.to_owned(), None),
        };
        let verified = self.auth.hashing.verify(request.password, phc).await?;
        match user {
            Some(user) if verified => {
                self.auth.throttle.record_success(guess);
                self.start_session(user).await
            }
            _ => Err(AppError::InvalidCredentials),
        }
    }

    /// Verifies a bearer credential (a JWT access token or a personal API token) and returns
    /// its user.
    pub async fn authenticate(&self, credential: &str) -> AppResult<User> {
        Ok(self.authenticate_credential(credential).await?.user)
    }

    /// Verifies a bearer credential and returns its user and, for an access token, its
    /// sign-in session (which must still be active).
    pub async fn authenticate_credential(
        &self,
        credential: &str,
    ) -> AppResult<session::Authenticated> {
        let now = Instant::now();
        if api_token::is_api_token(credential) {
            let mut found = None;
            for hash in self.auth.token_hasher.candidates(credential) {
                found = self.store.find_api_token(&hash).await?;
                if found.is_some() {
                    break;
                }
            }
            let (token, user) = found.ok_or(AppError::Unauthenticated(
                "the api token is invalid or revoked",
            ))?;
            if token
                .expires_at
                .is_some_and(|expires| expires <= self.now())
            {
                return Err(AppError::Unauthenticated("the api token has expired"));
            }
            if self.auth.should_touch(token.id, now) {
                self.touch_token_in_background(token.id);
            }
            return Ok(session::Authenticated {
                user,
                session: None,
                scopes: Scopes::from_stored(&token.scopes),
            });
        }
        let token = self.auth.signer.verify_cached(credential)?;
        let user_id = token.user;
        let user = match self.auth.cached_user(user_id, now) {
            Some(user) => user,
            None => {
                let user = match self.store.get_user(user_id).await {
                    Ok(user) => user,
                    Err(StoreError::NotFound) => {
                        return Err(AppError::Unauthenticated("the account no longer exists"));
                    }
                    Err(error) => return Err(error.into()),
                };
                self.auth.cache_user(&user, now);
                user
            }
        };
        if token.credentials_version != user.credentials_version {
            return Err(AppError::Unauthenticated(
                "the access token was revoked (password change or sign-out everywhere)",
            ));
        }
        let session = self.check_session(user.id, token.session).await?;
        Ok(session::Authenticated {
            user,
            session,
            scopes: Scopes::ALL,
        })
    }

    fn touch_token_in_background(&self, id: ApiTokenId) {
        let store = self.store.clone();
        let at = self.now();
        tokio::spawn(async move {
            if let Err(error) = store.touch_api_token(id, at).await {
                tracing::warn!(%error, token_id = %id, "failed to record api token use");
            }
        });
    }

    /// Changes the caller's profile. A new password needs the current one and revokes every
    /// access token issued before.
    pub async fn update_me(&self, actor: &Actor, request: UpdateMeRequest) -> AppResult<User> {
        let mut user = self
            .store
            .get_user(actor.user.id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::Unauthenticated("the account no longer exists"),
                other => other.into(),
            })?;
        let name = match request.name {
            None => Ok(user.name.clone()),
            Some(name) => validate_name(name.as_deref().unwrap_or("")),
        };
        let timezone = match request.timezone.as_deref() {
            None => Ok(user.timezone),
            Some(zone) => parse_zone(zone),
        };
        let password = match (&request.password, &request.current_password) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(FieldError::new(
                "current_password",
                "required",
                "changing the password needs current_password",
            )),
            (Some(new), Some(_)) => validate_password("password", new),
        };
        let (name, timezone, ()) = tickler_domain::all_valid!(name, timezone, password)?;
        let mut password_hash = None;
        if let (Some(new), Some(current)) = (request.password, request.current_password) {
            let credentials = self
                .store
                .find_credentials(&user.email)
                .await?
                .ok_or(AppError::Unauthenticated("the account no longer exists"))?;
            if !self
                .auth
                .hashing
                .verify(current, credentials.password_hash)
                .await?
            {
                return Err(AppError::Validation(ValidationErrors::single(
                    FieldError::new(
                        "current_password",
                        "incorrect",
                        "current_password is incorrect",
                    ),
                )));
            }
            password_hash = Some(self.auth.hashing.hash(new).await?);
            user.credentials_version += 1;
        }
        let mut changed_fields = Vec::new();
        if name != user.name {
            changed_fields.push("name");
        }
        if timezone != user.timezone {
            changed_fields.push("timezone");
        }
        user.name = name;
        user.timezone = timezone;
        user.updated_at = self.now();
        // Whoever knew the old password may hold a credential made with it: the store revokes
        // every API token and every session (refresh token) with the new one.
        let password_changed = password_hash.is_some().then(|| {
            self.account_change(ChangedBy::Actor(actor), account_change::PASSWORD_CHANGED)
        });
        let profile_changed = (!changed_fields.is_empty()).then(|| {
            self.account_change(ChangedBy::Actor(actor), account_change::PROFILE_CHANGED)
                .record(
                    user.id,
                    None,
                    serde_json::json!({ "changed_fields": changed_fields }),
                )
        });
        let audit: AuditOf<UserUpdate> = Arc::new(move |update: &UserUpdate| {
            let password = password_changed.as_ref().map(|change| {
                change.record(
                    update.user.id,
                    None,
                    serde_json::json!({
                        "api_tokens_revoked": update.api_tokens_revoked,
                        "sessions_revoked": true,
                    }),
                )
            });
            password
                .into_iter()
                .chain(profile_changed.clone())
                .collect()
        });
        let update = self
            .store
            .update_user(&user, password_hash.as_deref(), audit)
            .await?;
        self.auth.forget_user(user.id);
        if password_hash.is_some() {
            self.auth.active_sessions.forget_all();
            tracing::info!(user_id = %user.id, api_tokens = update.api_tokens_revoked, "password changed: every api token and session revoked");
        }
        Ok(update.user)
    }

    /// Creates a personal API token; the returned secret is never retrievable again.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        request: CreateApiTokenRequest,
    ) -> AppResult<(String, ApiToken)> {
        let name = request.name.trim().to_owned();
        let name_check = check_label(&name);
        let days_check = match request.expires_in_days {
            Some(days) if days == 0 || days > MAX_TOKEN_DAYS => Err(FieldError::new(
                "expires_in_days",
                "out_of_range",
                format!("expires_in_days must be 1 to {MAX_TOKEN_DAYS}"),
            )),
            _ => Ok(()),
        };
        let scopes = match &request.scopes {
            None => Ok(Scopes::ALL),
            Some(names) => Scopes::parse("scopes", names),
        };
        let ((), (), scopes) = tickler_domain::all_valid!(name_check, days_check, scopes)?;
        // A token never holds more than the credential that created it.
        if let Some(missing) = actor.scopes.missing_from(scopes) {
            return Err(AppError::InsufficientScope(missing.as_str()));
        }
        let generated = api_token::generate()?;
        let now = self.now();
        let token = ApiToken {
            id: ApiTokenId::from_uuid(self.new_uuid()),
            owner: actor.user.id,
            name,
            prefix: generated.display_prefix,
            created_at: now,
            last_used_at: None,
            expires_at: request
                .expires_in_days
                .map(|days| now + TimeDelta::days(i64::from(days))),
            scopes: scopes.names(),
        };
        let audit = self
            .account_change(ChangedBy::Actor(actor), account_change::TOKEN_CREATED)
            .record(
                actor.user.id,
                None,
                serde_json::json!({
                    "token_id": token.id.to_string(),
                    "name": token.name,
                    "prefix": token.prefix,
                    "scopes": token.scopes,
                    "expires_at": token.expires_at,
                }),
            );
        self.store
            .insert_api_token(
                &NewApiToken {
                    token: token.clone(),
                    secret_hash: self.auth.token_hasher.hash(&generated.secret),
                },
                &[audit],
            )
            .await?;
        tracing::info!(user_id = %actor.user.id, token_id = %token.id, "api token created");
        Ok((generated.secret, token))
    }

    /// Lists the caller's API tokens, newest first.
    pub async fn list_api_tokens(&self, actor: &Actor) -> AppResult<Vec<ApiToken>> {
        Ok(self.store.list_api_tokens(actor.user.id).await?)
    }

    /// Revokes one of the caller's API tokens.
    pub async fn revoke_api_token(&self, actor: &Actor, id: ApiTokenId) -> AppResult<()> {
        let audit = self
            .account_change(ChangedBy::Actor(actor), account_change::TOKEN_REVOKED)
            .record(
                actor.user.id,
                None,
                serde_json::json!({ "token_id": id.to_string() }),
            );
        self.store
            .delete_api_token(actor.user.id, id, &[audit])
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::ApiTokenNotFound,
                other => other.into(),
            })?;
        Ok(())
    }
}

/// Checks the name of a token or a calendar feed: 1 to 100 characters (once trimmed), without
/// control characters.
pub(crate) fn check_label(name: &str) -> Result<(), FieldError> {
    if name.is_empty()
        || name.chars().count() > MAX_TOKEN_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(FieldError::new(
            "name",
            "invalid_length",
            format!(
                "name must be 1 to {MAX_TOKEN_NAME_CHARS} characters, without control characters"
            ),
        ));
    }
    Ok(())
}

fn parse_zone(name: &str) -> Result<TimeZone, FieldError> {
    TimeZone::parse(name)
        .map_err(|error| FieldError::new("timezone", "unknown_time_zone", error.to_string()))
}
