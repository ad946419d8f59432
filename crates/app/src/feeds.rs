//! Calendar feeds: secret iCalendar addresses of a user's tasks, for calendar apps to
//! subscribe to.
//!
//! A feed's token is shown once, at creation, inside its address `/feeds/<token>.ics`; only a
//! keyed hash of it is stored (a key of its own, derived from the server secret like the API
//! tokens' one). Whoever holds the address reads the feed without other credentials, so a feed
//! is revoked by deleting it. A feed may carry a filter in the task list's query-string syntax,
//! applied with the list's own parser, so `tag=work&status=open` means in a feed exactly what
//! it means on `GET /api/v1/tasks`.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tickler_domain::{CalendarFeedId, FieldError, Task, UserId, ValidationErrors};
use tickler_protocol::feed::CreateCalendarFeedRequest;
use tickler_store::query::MAX_PAGE_SIZE;
use tickler_store::{CalendarFeed, NewCalendarFeed, StoreError, TaskQuery};

use crate::audit::{ChangedBy, account_change};
use crate::auth::api_token::random_secret;
use crate::error::{AppError, AppResult};
use crate::listing::{ListTasksParams, parse_query};
use crate::{Actor, App};

/// The media type of a feed.
pub use tickler_ical::MEDIA_TYPE;

/// Every feed token starts with this, which tells it apart from an API token.
pub const FEED_TOKEN_PREFIX: &str = "tkf_";
/// Longest filter, in characters.
const MAX_FILTER_CHARS: usize = 2_000;
/// Most tasks one feed shows (those due first); a larger calendar is cut there.
pub const MAX_FEED_TASKS: usize = 5_000;
/// How often subscribers are asked to refresh, in minutes.
const REFRESH_MINUTES: u32 = 60;
/// The filter parameters a feed accepts: the task list's filters, without paging and order.
const FILTER_PARAMETERS: [&str; 7] = [
    "q",
    "status",
    "priority",
    "tag",
    "due_before",
    "due_after",
    "overdue",
];

/// A feed's iCalendar text and its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDocument {
    /// The `VCALENDAR`.
    pub body: String,
    /// A strong entity tag of the body (quoted), for `If-None-Match`.
    pub etag: String,
}

/// Returns the address path of a feed token.
pub fn feed_path(token: &str) -> String {
    format!("/feeds/{token}.ics")
}

/// Reads a filter into the task list's parameters; unknown parameters are refused.
fn filter_params(filter: &str) -> Result<ListTasksParams, FieldError> {
    let invalid = |code, message: String| FieldError::new("filter", code, message);
    if filter.chars().count() > MAX_FILTER_CHARS {
        return Err(invalid(
            "too_long",
            format!("filter must be at most {MAX_FILTER_CHARS} characters"),
        ));
    }
    let query = filter.trim().trim_start_matches('?');
    let mut params = ListTasksParams::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "q" => params.q = params.q.or(Some(value)),
            "status" => params.status.push(value),
            "priority" => params.priority.push(value),
            "tag" => params.tag.push(value),
            "due_before" => params.due_before = params.due_before.or(Some(value)),
            "due_after" => params.due_after = params.due_after.or(Some(value)),
            "overdue" => params.overdue = params.overdue.or(Some(value)),
            other => {
                return Err(invalid(
                    "unknown_parameter",
                    format!(
                        "filter parameter {other:?} is not supported; use {}",
                        FILTER_PARAMETERS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(params)
}

/// Parses a filter into the query that lists the feed's tasks, due first, at `now`.
fn feed_query(filter: Option<&str>, now: DateTime<Utc>) -> AppResult<TaskQuery> {
    let mut params = match filter {
        Some(filter) => filter_params(filter)?,
        None => ListTasksParams::default(),
    };
    params.sort = vec!["due_at".to_owned()];
    params.limit = Some(MAX_PAGE_SIZE.to_string());
    parse_query(params, now).map_err(|error| match error {
        // Report the list's field errors as errors of the filter.
        AppError::Validation(errors) => {
            let errors = errors
                .into_errors()
                .into_iter()
                .map(|e| FieldError::new("filter", e.code, format!("{}: {}", e.field, e.message)))
                .collect();
            ValidationErrors::from_errors(errors).map_or_else(
                || AppError::Internal("an empty list of validation errors".to_owned()),
                AppError::Validation,
            )
        }
        other => other,
    })
}

fn not_found(error: StoreError) -> AppError {
    match error {
        StoreError::NotFound => AppError::CalendarFeedNotFound,
        other => other.into(),
    }
}

impl App {
    /// Creates a calendar feed of the caller's tasks; returns its token (shown once) and the
    /// feed.
    pub async fn create_calendar_feed(
        &self,
        actor: &Actor,
        request: CreateCalendarFeedRequest,
    ) -> AppResult<(String, CalendarFeed)> {
        let name = request.name.trim().to_owned();
        let filter = request
            .filter
            .map(|filter| filter.trim().trim_start_matches('?').to_owned())
            .filter(|filter| !filter.is_empty());
        let name_check = crate::auth::check_label(&name);
        let filter_check = match filter.as_deref() {
            Some(filter) => match feed_query(Some(filter), self.now()) {
                Ok(_) => Ok(()),
                Err(AppError::Validation(errors)) => Err(errors),
                Err(other) => return Err(other),
            },
            None => Ok(()),
        };
        if let Some(errors) = ValidationErrors::from_errors(
            name_check
                .err()
                .into_iter()
                .chain(
                    filter_check
                        .err()
                        .into_iter()
                        .flat_map(ValidationErrors::into_errors),
                )
                .collect(),
        ) {
            return Err(AppError::Validation(errors));
        }
        let token = random_secret(FEED_TOKEN_PREFIX)?;
        let feed = CalendarFeed {
            id: CalendarFeedId::from_uuid(self.new_uuid()),
            owner: actor.user.id,
            name,
            filter,
            created_at: self.now(),
        };
        let audit = self
            .account_change(ChangedBy::Actor(actor), account_change::FEED_CREATED)
            .record(
                actor.user.id,
                None,
                serde_json::json!({
                    "feed_id": feed.id.to_string(),
                    "name": feed.name,
                    "filter": feed.filter,
                }),
            );
        self.store
            .insert_calendar_feed(
                &NewCalendarFeed {
                    feed: feed.clone(),
                    token_hash: self.auth.feed_hasher.hash(&token),
                },
                &[audit],
            )
            .await?;
        tracing::info!(
            user_id = %actor.user.id,
            feed_id = %feed.id,
            origin = actor.origin.as_str(),
            "calendar feed created"
        );
        Ok((token, feed))
    }

    /// Lists the caller's calendar feeds, newest first.
    pub async fn list_calendar_feeds(&self, actor: &Actor) -> AppResult<Vec<CalendarFeed>> {
        Ok(self.store.list_calendar_feeds(actor.user.id).await?)
    }

    /// Revokes one of the caller's calendar feeds: its address answers 404 from now on.
    pub async fn revoke_calendar_feed(&self, actor: &Actor, id: CalendarFeedId) -> AppResult<()> {
        let audit = self
            .account_change(ChangedBy::Actor(actor), account_change::FEED_REVOKED)
            .record(
                actor.user.id,
                None,
                serde_json::json!({ "feed_id": id.to_string() }),
            );
        self.store
            .delete_calendar_feed(actor.user.id, id, &[audit])
            .await
            .map_err(not_found)?;
        tracing::info!(
            user_id = %actor.user.id,
            feed_id = %id,
            origin = actor.origin.as_str(),
            "calendar feed revoked"
        );
        Ok(())
    }

    /// Renders the feed a token opens: the owner's tasks with a due date that match the
    /// feed's filter, as iCalendar. An unknown or revoked token is
    /// [`AppError::CalendarFeedNotFound`].
    pub async fn calendar_feed_document(&self, token: &str) -> AppResult<CalendarDocument> {
        let mut found = None;
        for hash in self.auth.feed_hasher.candidates(token) {
            found = self.store.find_calendar_feed(&hash).await?;
            if found.is_some() {
                break;
            }
        }
        let (feed, owner) = found.ok_or(AppError::CalendarFeedNotFound)?;
        let tasks = self.feed_tasks(owner.id, &feed).await?;
        let body = tickler_ical::write_calendar(
            &tasks,
            &tickler_ical::CalendarOptions {
                name: Some(feed.name),
                refresh_minutes: Some(REFRESH_MINUTES),
                undated: false,
            },
        );
        let digest = Sha256::digest(body.as_bytes());
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Ok(CalendarDocument { body, etag })
    }

    /// Reads the feed's tasks that have a due date, due first, at most [`MAX_FEED_TASKS`].
    async fn feed_tasks(&self, owner: UserId, feed: &CalendarFeed) -> AppResult<Vec<Task>> {
        let mut query = feed_query(feed.filter.as_deref(), self.now()).map_err(|error| {
            AppError::Internal(format!(
                "stored filter of feed {} is invalid: {error}",
                feed.id
            ))
        })?;
        let mut tasks = Vec::new();
        loop {
            let page = self.store.list_tasks(owner, &query).await?;
            // Tasks without a due date sort last: the first one ends the feed.
            let count = page.items.len();
            let dated: Vec<Task> = page
                .items
                .into_iter()
                .take_while(|t| t.fields.due.is_some())
                .collect();
            let reached_undated = dated.len() < count;
            tasks.extend(dated);
            if tasks.len() >= MAX_FEED_TASKS {
                tasks.truncate(MAX_FEED_TASKS);
                return Ok(tasks);
            }
            match page.next {
                Some(next) if !reached_undated => query.after = Some(next),
                _ => return Ok(tasks),
            }
        }
    }
}

#[cfg(test)]
mod tests;
