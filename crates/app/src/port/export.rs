//! `GET /api/v1/exports?format=json` and `tickler export`: everything the caller owns, as the
//! versioned document of `tickler_protocol::port` (`docs/import-export.md`).

use tickler_protocol::port::{
    EXPORT_FORMAT, EXPORT_VERSION, ExportAccount, ExportDocument, ExportTask,
};
use tickler_protocol::task::TaskBody;
use tickler_store::{AuditQuery, SortField, SortKey, TaskQuery, query::MAX_PAGE_SIZE};

use crate::audit::audit_entry_body;
use crate::error::AppResult;
use crate::notifications::channel_body;
use crate::{Actor, App};

/// What to export besides the tasks, channels and account.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportParams {
    /// Include every task's audit trail.
    pub history: bool,
}

impl App {
    /// Exports every task (oldest first, done ones and every instance of a series included),
    /// the notification channels (never their secrets) and the account's profile.
    pub async fn export(&self, actor: &Actor, params: ExportParams) -> AppResult<ExportDocument> {
        let mut tasks = Vec::new();
        for task in self.every_task(actor).await? {
            let history = if params.history {
                Some(self.full_history(actor, task.id).await?)
            } else {
                None
            };
            tasks.push(ExportTask {
                task: TaskBody::from(&task),
                history,
            });
        }
        let channels = self
            .list_channels(actor)
            .await?
            .iter()
            .map(channel_body)
            .collect();
        Ok(ExportDocument {
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
            exported_at: self.now(),
            account: ExportAccount {
                email: actor.user.email.as_str().to_owned(),
                name: actor.user.name.clone(),
                timezone: actor.user.timezone.name().to_owned(),
            },
            channels,
            tasks,
        })
    }

    /// Exports the caller's tasks as an iCalendar file (one VTODO per task, with its due date,
    /// rule, alarms, categories and time zones; an undated task's VTODO has no `DUE`), written
    /// by `tickler-ical`, the writer of the calendar feeds; `source=ical` imports it back.
    pub async fn export_ical(&self, actor: &Actor) -> AppResult<String> {
        let tasks = self.every_task(actor).await?;
        Ok(tickler_ical::write_calendar(
            &tasks,
            &tickler_ical::CalendarOptions {
                name: Some("tickler".to_owned()),
                refresh_minutes: None,
                undated: true,
            },
        ))
    }

    /// Reads every task of the caller, oldest first.
    async fn every_task(&self, actor: &Actor) -> AppResult<Vec<tickler_domain::Task>> {
        let owner = actor.user.id;
        let mut query = TaskQuery {
            sort: vec![SortKey {
                field: SortField::CreatedAt,
                descending: false,
            }],
            limit: MAX_PAGE_SIZE,
            ..TaskQuery::default()
        };
        let mut tasks = Vec::new();
        loop {
            let page = self.store.list_tasks(owner, &query).await?;
            tasks.extend(page.items);
            match page.next {
                Some(cursor) => query.after = Some(cursor),
                None => return Ok(tasks),
            }
        }
    }

    async fn full_history(
        &self,
        actor: &Actor,
        id: tickler_domain::TaskId,
    ) -> AppResult<Vec<tickler_protocol::audit::AuditEntryBody>> {
        let mut entries = Vec::new();
        let mut after = None;
        loop {
            let (records, next) = self
                .read_audit(
                    actor,
                    AuditQuery {
                        task_id: Some(id),
                        since: None,
                        after,
                        limit: tickler_store::events::MAX_AUDIT_PAGE_SIZE,
                    },
                )
                .await?;
            entries.extend(records.into_iter().map(audit_entry_body));
            match next {
                Some(cursor) => after = Some(crate::cursor::decode(&cursor)?),
                None => return Ok(entries),
            }
        }
    }
}
