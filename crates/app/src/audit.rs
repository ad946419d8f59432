//! The audit trail: recording account-level changes, reading the trail, verifying its hash
//! chain; and the operator's view of dead letters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tickler_domain::{EventId, FieldError, TaskId, UserId};
use tickler_store::{AuditQuery, AuditRecord, DeadLetter, DeadLetterQuery, StoreError};

use crate::error::{AppError, AppResult};
use crate::{Actor, App, Origin};

const DEFAULT_AUDIT_PAGE: u32 = 100;
const MAX_AUDIT_PAGE: u32 = 500;
const MAX_DEAD_LETTERS: u32 = tickler_store::events::MAX_DEAD_LETTERS;

/// Renders an audit record as the API and the tools show it.
pub fn audit_entry_body(record: AuditRecord) -> tickler_protocol::audit::AuditEntryBody {
    tickler_protocol::audit::AuditEntryBody {
        event_id: record.event_id,
        event_type: record.event_type,
        task_id: record.task_id,
        origin: record.origin,
        correlation_id: record.correlation_id,
        occurred_at: record.occurred_at,
        recorded_at: record.recorded_at,
        data: serde_json::from_str(&record.data).unwrap_or(serde_json::Value::Null),
    }
}

/// Types of the audit rows of security-relevant account changes. These changes are not domain
/// events (nothing else consumes them): the use case builds the row ([`AccountChange`]) and the
/// store writes it in the change's own transaction, so a change is never without its row. Their
/// data names what changed and never holds a secret (a password, a token, a signing secret, a
/// webhook URL, which often carries one).
pub mod account_change {
    /// An account was registered.
    pub const REGISTERED: &str = "tickler.account.registered";
    /// The name or time zone changed (`changed_fields`).
    pub const PROFILE_CHANGED: &str = "tickler.account.profile_changed";
    /// The password changed; every API token and session was revoked with it.
    pub const PASSWORD_CHANGED: &str = "tickler.account.password_changed";
    /// A sign-in with the password started a session.
    pub const SESSION_STARTED: &str = "tickler.session.started";
    /// A session was signed out.
    pub const SESSION_ENDED: &str = "tickler.session.ended";
    /// Every session was signed out.
    pub const SIGNED_OUT_EVERYWHERE: &str = "tickler.session.signed_out_everywhere";
    /// A spent refresh token was presented again: the session was revoked.
    pub const REFRESH_TOKEN_REUSED: &str = "tickler.session.refresh_token_reused";
    /// A personal API token was created.
    pub const TOKEN_CREATED: &str = "tickler.token.created";
    /// A personal API token was revoked.
    pub const TOKEN_REVOKED: &str = "tickler.token.revoked";
    /// A notification channel was created.
    pub const CHANNEL_CREATED: &str = "tickler.channel.created";
    /// A notification channel changed (`changed_fields`).
    pub const CHANNEL_UPDATED: &str = "tickler.channel.updated";
    /// A notification channel was deleted.
    pub const CHANNEL_DELETED: &str = "tickler.channel.deleted";
    /// An e-mail channel was verified with the code mailed to its address.
    pub const CHANNEL_VERIFIED: &str = "tickler.channel.verified";
    /// A webhook channel got a new signing secret.
    pub const CHANNEL_SECRET_ROTATED: &str = "tickler.channel.secret_rotated";
    /// A calendar feed (and its token) was created.
    pub const FEED_CREATED: &str = "tickler.feed.created";
    /// A calendar feed was revoked.
    pub const FEED_REVOKED: &str = "tickler.feed.revoked";
    /// A reminder was snoozed.
    pub const REMINDER_SNOOZED: &str = "tickler.reminder.snoozed";
    /// `tickler admin grant` gave the account operator rights.
    pub const OPERATOR_GRANTED: &str = "tickler.account.operator_granted";
    /// `tickler admin revoke` took them away.
    pub const OPERATOR_REVOKED: &str = "tickler.account.operator_revoked";
}

/// Who made an account change, for its audit row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChangedBy<'a> {
    /// An authenticated caller.
    Actor(&'a Actor),
    /// A request before or without an authenticated caller (sign-in, refresh, sign-out by
    /// refresh token), always through the API.
    Request,
}

/// What a use case knows of an account change before the store makes it: its type, origin,
/// request id, time and event id. [`AccountChange::record`] completes the audit row, which
/// goes to the store with the change (the store's `audit` arguments), so that the change and
/// its row commit in one transaction; a failure to write the row fails the change.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountChange {
    event_id: EventId,
    event_type: &'static str,
    origin: Origin,
    correlation_id: Option<String>,
    at: DateTime<Utc>,
}

impl AccountChange {
    /// Starts the audit row of an account change made at `at` through `origin`.
    pub fn new(
        event_id: EventId,
        event_type: &'static str,
        origin: Origin,
        correlation_id: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id,
            event_type,
            origin,
            correlation_id,
            at,
        }
    }

    /// Returns the audit row of the change to `owner`'s account, with its `data`.
    pub fn record(&self, owner: UserId, task_id: Option<TaskId>, data: Value) -> AuditRecord {
        AuditRecord {
            event_id: self.event_id,
            owner,
            task_id,
            event_type: self.event_type.to_owned(),
            origin: Some(self.origin.as_str().to_owned()),
            correlation_id: self.correlation_id.clone(),
            occurred_at: self.at,
            recorded_at: self.at,
            data: data.to_string(),
        }
    }
}

impl App {
    /// Starts the audit row of an account change made now by `by`.
    pub(crate) fn account_change(
        &self,
        by: ChangedBy<'_>,
        event_type: &'static str,
    ) -> AccountChange {
        let (origin, correlation_id) = match by {
            ChangedBy::Actor(actor) => (actor.origin, actor.correlation_id.clone()),
            ChangedBy::Request => (Origin::Api, None),
        };
        AccountChange::new(
            EventId::from_uuid(self.new_uuid()),
            event_type,
            origin,
            correlation_id,
            self.now(),
        )
    }
}

/// Hands a dead letter's event to its consumer again (implemented by the workers, which own
/// the consumers).
#[async_trait]
pub trait DeadLetterReplayer: Send + Sync + std::fmt::Debug {
    /// Processes the letter's payload with its consumer once more; the reason on failure.
    async fn replay(&self, letter: &DeadLetter) -> Result<(), String>;
}

/// Query parameters of `GET /api/v1/audit`, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditParams {
    /// Only this task.
    pub task_id: Option<String>,
    /// RFC 3339: only entries at or after.
    pub since: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// From a previous page.
    pub cursor: Option<String>,
}

impl App {
    /// Reads the caller's audit trail, oldest first.
    pub async fn audit(
        &self,
        actor: &Actor,
        params: AuditParams,
    ) -> AppResult<(Vec<AuditRecord>, Option<String>)> {
        let task_id = match params.task_id.as_deref() {
            None => Ok(None),
            Some(raw) => raw.parse::<TaskId>().map(Some).map_err(|_| {
                FieldError::new("task_id", "invalid_format", "task_id must be a task id")
            }),
        };
        let since = match params.since.as_deref() {
            None => Ok(None),
            Some(raw) => DateTime::parse_from_rfc3339(raw.trim())
                .map(|instant| Some(instant.with_timezone(&Utc)))
                .map_err(|_| {
                    FieldError::new(
                        "since",
                        "invalid_format",
                        "since must be an RFC 3339 instant",
                    )
                }),
        };
        let limit = parse_limit(params.limit.as_deref());
        let (task_id, since, limit) = tickler_domain::all_valid!(task_id, since, limit)?;
        let after = params
            .cursor
            .as_deref()
            .map(crate::cursor::decode)
            .transpose()?;
        self.read_audit(
            actor,
            AuditQuery {
                task_id,
                since,
                after,
                limit,
            },
        )
        .await
    }

    /// Reads the history of one of the caller's tasks (also after it was deleted); a task
    /// with no recorded history is not found.
    pub async fn task_history(
        &self,
        actor: &Actor,
        id: TaskId,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> AppResult<(Vec<AuditRecord>, Option<String>)> {
        let limit = parse_limit(limit)?;
        let after = cursor.map(crate::cursor::decode).transpose()?;
        let first_page = after.is_none();
        let page = self
            .read_audit(
                actor,
                AuditQuery {
                    task_id: Some(id),
                    since: None,
                    after,
                    limit,
                },
            )
            .await?;
        if first_page && page.0.is_empty() {
            return Err(AppError::TaskNotFound);
        }
        Ok(page)
    }

    pub(crate) async fn read_audit(
        &self,
        actor: &Actor,
        query: AuditQuery,
    ) -> AppResult<(Vec<AuditRecord>, Option<String>)> {
        let limit = query.limit;
        // One more than asked tells whether a next page exists.
        let mut records = self
            .store
            .list_audit(
                actor.user.id,
                &AuditQuery {
                    limit: limit + 1,
                    ..query
                },
            )
            .await?;
        let next = if records.len() > limit as usize {
            records.truncate(limit as usize);
            records
                .last()
                .map(|last| crate::cursor::encode(last.occurred_at, last.event_id))
        } else {
            None
        };
        Ok((records, next))
    }

    /// Returns whether the caller may use the operator routes: an account granted operator
    /// rights in the database (`tickler admin grant`), or one named by id in
    /// `auth.admin_user_ids`. Never by e-mail address, which anyone may register.
    pub fn is_admin(&self, actor: &Actor) -> bool {
        actor.user.operator || self.auth.settings.admin_user_ids.contains(&actor.user.id)
    }

    fn require_admin(&self, actor: &Actor) -> AppResult<()> {
        if self.is_admin(actor) {
            Ok(())
        } else {
            Err(AppError::AdminRequired)
        }
    }

    /// Lists dead letters (operators only).
    pub async fn list_dead_letters(
        &self,
        actor: &Actor,
        consumer: Option<String>,
        include_replayed: bool,
        limit: Option<&str>,
    ) -> AppResult<Vec<DeadLetter>> {
        self.require_admin(actor)?;
        let limit = match limit {
            None => 100,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_DEAD_LETTERS).contains(n))
                .ok_or_else(|| {
                    FieldError::new(
                        "limit",
                        "out_of_range",
                        format!("limit must be an integer from 1 to {MAX_DEAD_LETTERS}"),
                    )
                })?,
        };
        Ok(self
            .store
            .list_dead_letters(&DeadLetterQuery {
                consumer,
                include_replayed,
                limit,
            })
            .await?)
    }

    /// Hands a dead letter to its consumer again and records the success (operators only).
    pub async fn replay_dead_letter(
        &self,
        actor: &Actor,
        id: &str,
        replayer: &dyn DeadLetterReplayer,
    ) -> AppResult<DeadLetter> {
        self.require_admin(actor)?;
        replay_dead_letter(self.store.as_ref(), id, replayer, self.now()).await
    }
}

/// Replays a dead letter: shared by the operator route and `tickler dlq replay`.
pub async fn replay_dead_letter(
    store: &dyn tickler_store::Store,
    id: &str,
    replayer: &dyn DeadLetterReplayer,
    now: DateTime<Utc>,
) -> AppResult<DeadLetter> {
    let id = id
        .parse::<uuid::Uuid>()
        .map_err(|_| AppError::DeadLetterNotFound)?;
    let mut letter = store
        .get_dead_letter(id)
        .await
        .map_err(|error| match error {
            StoreError::NotFound => AppError::DeadLetterNotFound,
            other => other.into(),
        })?;
    replayer
        .replay(&letter)
        .await
        .map_err(AppError::ReplayFailed)?;
    store.mark_dead_letter_replayed(id, now).await?;
    letter.replayed_at = Some(now);
    Ok(letter)
}

fn parse_limit(raw: Option<&str>) -> Result<u32, FieldError> {
    match raw {
        None => Ok(DEFAULT_AUDIT_PAGE),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
            .ok_or_else(|| {
                FieldError::new(
                    "limit",
                    "out_of_range",
                    format!("limit must be an integer from 1 to {MAX_AUDIT_PAGE}"),
                )
            }),
    }
}
