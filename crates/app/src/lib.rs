//! tickler's use cases, shared by every front door: the REST API, the chat assistant, the MCP
//! server and the CLI all call [`App`], so a change made anywhere is validated the same way,
//! writes the same events and lands in the same audit trail.
//!
//! `App` owns no transport: it takes protocol request types, returns domain values, and fails
//! with [`AppError`], whose [`ErrorKind`] each front door maps to its own outcome. Storage is
//! reached only through the [`tickler_store::Store`] trait; time only through a [`Clock`].

mod actor;
pub mod audit;
pub mod auth;
pub mod chat;
mod clock;
mod cursor;
pub mod decode;
mod error;
mod events;
pub mod fault;
pub mod feeds;
mod listing;
pub mod live;
mod merge_patch;
pub mod nl;
pub mod notifications;
pub mod port;
mod query;
pub mod recurring;
pub mod reminders;
mod signal;
mod tags;
mod tasks;
pub mod tools;
pub mod trace;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tickler_store::Store;

pub use actor::{Actor, Origin};
pub use audit::{AuditParams, DeadLetterReplayer};
pub use auth::{AuthSettings, RegistrationPolicy, Session};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult, ErrorKind};
pub use events::{EventSettings, system_event};
pub use listing::{ListTasksParams, MAX_OCCURRENCES};
pub use signal::{CommitWakes, OutboxSignal, ReadPacer};
pub use tags::TagChange;
pub use tasks::{CreatedBody, CreatedTask, IdempotencyKey};
/// Records the use cases return as they are stored.
pub use tickler_store::{ApiToken, AuditRecord, CalendarFeed, DeadLetter, SessionId, TagCount};

/// Settings of the use cases.
#[derive(Debug, Clone, Default)]
pub struct AppSettings {
    /// Accounts and tokens.
    pub auth: AuthSettings,
    /// Event envelopes.
    pub events: EventSettings,
    /// Notification channels.
    pub notifications: notifications::NotificationSettings,
}

/// The application: every use case, over one store and one clock.
#[derive(Debug)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    auth: auth::AuthState,
    events: EventSettings,
    outbox_signal: OutboxSignal,
    chat_model: Option<Arc<dyn chat::model::ChatModel>>,
    notifications: notifications::NotificationSettings,
    sealer: Arc<notifications::SecretSealer>,
    verification_mailer: Option<Arc<dyn notifications::VerificationMailer>>,
    /// Hashes e-mail channel verification codes (a key of their own; codes live a day, so a
    /// key rotation need not keep the old key for them).
    code_hasher: auth::api_token::TokenHasher,
}

impl App {
    /// Builds the application. `secret` signs access tokens, keys API token hashes and seals
    /// webhook signing secrets (at least 32 bytes).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
        secret: &[u8],
    ) -> Self {
        Self::with_rotated_secrets(store, clock, settings, secret, &[])
    }

    /// Builds the application after a rotation of the server secret: `previous` are the
    /// secrets `secret` replaced, newest first. Access tokens, API tokens, refresh and CSRF
    /// tokens and webhook secrets made under them keep working; everything new is signed,
    /// hashed or sealed with `secret`.
    pub fn with_rotated_secrets(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
        secret: &[u8],
        previous: &[Vec<u8>],
    ) -> Self {
        Self {
            store,
            clock,
            auth: auth::AuthState::new(settings.auth, secret, previous),
            events: settings.events,
            outbox_signal: OutboxSignal::default(),
            chat_model: None,
            notifications: settings.notifications,
            sealer: Arc::new(notifications::SecretSealer::new(secret).with_previous(previous)),
            verification_mailer: None,
            code_hasher: auth::api_token::TokenHasher::for_purpose(
                secret,
                b"tickler channel verification code v1",
            ),
        }
    }

    /// Lets the chat assistant hand the messages its rules do not understand to a language
    /// model.
    pub fn with_chat_model(mut self, model: Arc<dyn chat::model::ChatModel>) -> Self {
        self.chat_model = Some(model);
        self
    }

    /// Returns the signal bumped after every commit that appended events or queued deliveries.
    pub fn outbox_signal(&self) -> &OutboxSignal {
        &self.outbox_signal
    }

    /// Commits a change set and wakes in-process consumers when it carried events (and the
    /// delivery worker when it queued deliveries).
    async fn commit(
        &self,
        changes: tickler_store::ChangeSet,
    ) -> Result<(), tickler_store::StoreError> {
        let wakes = CommitWakes::of(&changes);
        self.store.commit(changes).await?;
        fault::crash_point(fault::FaultPoint::AfterCommitBeforePublish);
        wakes.notify(&self.outbox_signal);
        Ok(())
    }

    /// Succeeds when storage is reachable and migrated.
    pub async fn check_ready(&self) -> AppResult<()> {
        Ok(self.store.check_ready().await?)
    }

    /// Returns the settings of the events this application emits.
    pub fn event_settings(&self) -> &EventSettings {
        &self.events
    }

    /// Returns the store, for the workers that share the application's storage.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Returns the current time, truncated to the microseconds storage keeps.
    pub fn now(&self) -> DateTime<Utc> {
        tickler_domain::time::truncate_to_micros(self.clock.now())
    }

    /// Returns a new time-ordered id.
    pub(crate) fn new_uuid(&self) -> uuid::Uuid {
        uuid::Uuid::now_v7()
    }
}
