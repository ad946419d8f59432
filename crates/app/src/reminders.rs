//! Reminder use cases: the caller's scheduled reminders and snoozing one.
//!
//! Reminders are scheduled by the store in the transaction of every task write (see
//! `tickler_store::reminders`); here they are only read and snoozed.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tickler_domain::{FieldError, ReminderState};
use tickler_protocol::reminder::{ReminderBody, SnoozeRequest};
use tickler_store::{
    AuditOf, Conflict, ReminderQuery, ReminderSnooze, ScheduledReminder, StoreError,
};

use crate::audit::{ChangedBy, account_change};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

pub mod staleness;

/// Longest snooze in minutes (a week).
pub const MAX_SNOOZE_MINUTES: i64 = 7 * 24 * 60;
/// Reminders listed when the caller does not say.
const DEFAULT_PAGE: u32 = 100;
/// Most reminders one listing returns.
const MAX_PAGE: u32 = 500;
/// Fired later than this, a reminder is shown as late.
const LATE_AFTER_MS: i64 = 1_000;

/// The query of `GET /api/v1/reminders`, as received.
#[derive(Debug, Clone, Default)]
pub struct ReminderParams {
    /// `true`: only pending reminders, soonest first.
    pub upcoming: Option<String>,
    /// Page size.
    pub limit: Option<String>,
}

/// Returns the API view of a reminder.
pub fn reminder_body(reminder: &ScheduledReminder) -> ReminderBody {
    ReminderBody {
        id: reminder.id.to_string(),
        task_id: reminder.task_id,
        spec: reminder.spec.clone(),
        fire_at: reminder.fire_at,
        state: reminder.state.as_str().to_owned(),
        snoozed: reminder.snoozed,
        fired_at: reminder.fired_at,
        late_ms: reminder.lateness_ms,
        late: reminder.state != ReminderState::Pending
            && reminder.lateness_ms.is_some_and(|ms| ms > LATE_AFTER_MS),
    }
}

/// Decides when a snoozed reminder fires: `minutes` from `now`, or `until`; exactly one.
pub fn snooze_until(
    request: &SnoozeRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldError> {
    match (request.minutes, request.until.as_deref()) {
        (Some(minutes), None) => {
            if (1..=MAX_SNOOZE_MINUTES).contains(&minutes) {
                Ok(now + TimeDelta::minutes(minutes))
            } else {
                Err(FieldError::new(
                    "minutes",
                    "out_of_range",
                    format!("minutes must be an integer from 1 to {MAX_SNOOZE_MINUTES}"),
                ))
            }
        }
        (None, Some(until)) => {
            let until = DateTime::parse_from_rfc3339(until.trim())
                .map(|instant| tickler_domain::time::truncate_to_micros(instant.to_utc()))
                .map_err(|_| {
                    FieldError::new(
                        "until",
                        "invalid_format",
                        "until must be an RFC 3339 instant",
                    )
                })?;
            if until <= now {
                Err(FieldError::new(
                    "until",
                    "not_in_future",
                    "until must be in the future",
                ))
            } else if until > now + TimeDelta::days(366) {
                Err(FieldError::new(
                    "until",
                    "out_of_range",
                    "until must be within a year",
                ))
            } else {
                Ok(until)
            }
        }
        _ => Err(FieldError::new(
            "minutes",
            "required",
            "give exactly one of minutes and until",
        )),
    }
}

impl App {
    /// Lists the caller's reminders.
    pub async fn list_reminders(
        &self,
        actor: &Actor,
        params: ReminderParams,
    ) -> AppResult<Vec<ScheduledReminder>> {
        let upcoming = crate::query::flag("upcoming", params.upcoming.as_deref());
        let limit = crate::query::page_size(params.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE);
        let (upcoming, limit) = tickler_domain::all_valid!(upcoming, limit)?;
        Ok(self
            .store
            .list_reminders(
                actor.user.id,
                &ReminderQuery {
                    upcoming_only: upcoming,
                    limit,
                },
            )
            .await?)
    }

    /// Snoozes one of the caller's reminders; returns the reminder that will fire (the same
    /// one when it was pending, a new one when it had fired).
    pub async fn snooze_reminder(
        &self,
        actor: &Actor,
        id: &str,
        request: SnoozeRequest,
    ) -> AppResult<ScheduledReminder> {
        let id: uuid::Uuid = id.parse().map_err(|_| AppError::ReminderNotFound)?;
        let until = snooze_until(&request, self.now())?;
        let change = self.account_change(ChangedBy::Actor(actor), account_change::REMINDER_SNOOZED);
        let owner = actor.user.id;
        // Which reminder will fire (the same or a new one) is known only to the store.
        let audit: AuditOf<ScheduledReminder> = Arc::new(move |snoozed: &ScheduledReminder| {
            vec![change.record(
                owner,
                Some(snoozed.task_id),
                serde_json::json!({
                    "reminder_id": id.to_string(),
                    "fires_as": snoozed.id.to_string(),
                    "fire_at": snoozed.fire_at,
                }),
            )]
        });
        let snoozed = self
            .store
            .snooze_reminder(
                &ReminderSnooze {
                    owner,
                    id,
                    until,
                    new_id: self.new_uuid(),
                },
                audit,
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::ReminderNotFound,
                StoreError::Conflict(Conflict::ReminderClosed) => AppError::ReminderClosed,
                other => other.into(),
            })?;
        tracing::info!(reminder_id = %snoozed.id, fire_at = %snoozed.fire_at, "reminder snoozed");
        // Wakes this process's scheduler, which may now have an earlier reminder.
        self.outbox_signal.notify();
        Ok(snoozed)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn snoozes_take_minutes_or_a_future_instant() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let minutes = |minutes| SnoozeRequest {
            minutes: Some(minutes),
            until: None,
        };
        let until = |text: &str| SnoozeRequest {
            minutes: None,
            until: Some(text.to_owned()),
        };
        assert_eq!(
            snooze_until(&minutes(10), now).unwrap(),
            now + TimeDelta::minutes(10)
        );
        assert!(snooze_until(&until("2026-11-21T10:00:00+01:00"), now).is_err());
        assert_eq!(
            snooze_until(&until("2026-11-21T11:00:00+01:00"), now).unwrap(),
            now + TimeDelta::hours(1)
        );
        for bad in [
            minutes(0),
            minutes(-5),
            minutes(10_081),
            until("soon"),
            SnoozeRequest::default(),
        ] {
            assert!(snooze_until(&bad, now).is_err(), "{bad:?}");
        }
        let both = SnoozeRequest {
            minutes: Some(5),
            until: Some("2026-11-22T00:00:00Z".into()),
        };
        assert!(snooze_until(&both, now).is_err());
    }
}
