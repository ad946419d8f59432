//! Tag use cases: usage counts for autocompletion, renaming (merging) and deleting a tag on
//! every task of the caller.

use tickler_domain::{DomainEvent, FieldError, Tag, TaskChangeKind, TaskFields};
use tickler_store::{ChangeSet, Conflict, StoreError, TagCount, TaskWrite};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Default and largest number of tags listed.
const DEFAULT_TAG_LIMIT: u32 = 50;
const MAX_TAG_LIMIT: u32 = 500;
/// How often a tag change is retried when a concurrent task change wins the race.
const MAX_ATTEMPTS: usize = 5;

/// What a tag rename or deletion changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    /// The tag's name after the change (`None` after a deletion).
    pub name: Option<Tag>,
    /// How many tasks changed.
    pub tasks_changed: u64,
}

impl App {
    /// Lists the caller's tags by usage, optionally only those starting with `prefix`.
    pub async fn list_tags(
        &self,
        actor: &Actor,
        prefix: Option<&str>,
        limit: Option<&str>,
    ) -> AppResult<Vec<TagCount>> {
        let limit = match limit {
            None => DEFAULT_TAG_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_TAG_LIMIT).contains(n))
                .ok_or_else(|| {
                    FieldError::new(
                        "limit",
                        "out_of_range",
                        format!("limit must be an integer from 1 to {MAX_TAG_LIMIT}"),
                    )
                })?,
        };
        let prefix = prefix
            .map(|p| p.trim().trim_start_matches('#').to_lowercase())
            .filter(|p| !p.is_empty());
        if let Some(prefix) = &prefix
            && prefix.chars().count() > tickler_domain::tag::MAX_TAG_CHARS
        {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .tag_counts(actor.user.id, prefix.as_deref(), limit)
            .await?)
    }

    /// Renames a tag on every task of the caller, merging into `to` where a task has both.
    pub async fn rename_tag(&self, actor: &Actor, from: &str, to: &str) -> AppResult<TagChange> {
        let from = parse_tag("tag", from);
        let to = parse_tag("name", to);
        let (from, to) = tickler_domain::all_valid!(from, to)?;
        let changed = self
            .retag(
                actor,
                &from,
                |fields| {
                    let mut tags = fields.tags.clone();
                    tags.rename(&from, &to);
                    tags
                },
                |task_ids| DomainEvent::TagRenamed {
                    owner: actor.user.id,
                    from: from.clone(),
                    to: to.clone(),
                    task_ids,
                },
            )
            .await?;
        Ok(TagChange {
            name: Some(to),
            tasks_changed: changed,
        })
    }

    /// Removes a tag from every task of the caller.
    pub async fn delete_tag(&self, actor: &Actor, name: &str) -> AppResult<TagChange> {
        let tag = parse_tag("tag", name)?;
        let changed = self
            .retag(
                actor,
                &tag,
                |fields| {
                    let mut tags = fields.tags.clone();
                    tags.remove(&tag);
                    tags
                },
                |task_ids| DomainEvent::TagDeleted {
                    owner: actor.user.id,
                    tag: tag.clone(),
                    task_ids,
                },
            )
            .await?;
        Ok(TagChange {
            name: None,
            tasks_changed: changed,
        })
    }

    /// Rewrites the tags of every task carrying `tag` in one transaction, with a
    /// `task.updated` event per task and one tag event; returns how many tasks changed.
    async fn retag(
        &self,
        actor: &Actor,
        tag: &Tag,
        new_tags: impl Fn(&TaskFields) -> tickler_domain::Tags,
        tag_event: impl Fn(Vec<tickler_domain::TaskId>) -> DomainEvent,
    ) -> AppResult<u64> {
        for _ in 0..MAX_ATTEMPTS {
            let tasks = self.store.tasks_with_tag(actor.user.id, tag).await?;
            if tasks.is_empty() {
                return Err(AppError::TagNotFound);
            }
            let now = self.now();
            let mut changes = ChangeSet::default();
            let mut task_ids = Vec::with_capacity(tasks.len());
            for task in &tasks {
                let fields = TaskFields {
                    tags: new_tags(&task.fields),
                    ..task.fields.clone()
                };
                let Some(change) = task.edit(fields, now) else {
                    continue;
                };
                debug_assert_eq!(change.kind, TaskChangeKind::Updated);
                task_ids.push(task.id);
                changes.tasks.push(TaskWrite::Update {
                    task: change.task.clone(),
                    expected_version: task.version,
                });
                changes
                    .events
                    .push(self.outbox_message(actor, &DomainEvent::Task(change), now)?);
            }
            if task_ids.is_empty() {
                // Renaming a tag to itself changes nothing.
                return Ok(0);
            }
            let count = task_ids.len() as u64;
            changes
                .events
                .push(self.outbox_message(actor, &tag_event(task_ids), now)?);
            match self.commit(changes).await {
                Ok(()) => return Ok(count),
                Err(StoreError::Conflict(Conflict::VersionMismatch) | StoreError::NotFound) => {
                    continue;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(AppError::ConcurrentModification)
    }
}

fn parse_tag(field: &str, raw: &str) -> Result<Tag, FieldError> {
    Tag::parse(raw.trim()).map_err(|error| FieldError::new(field, error.code(), error.to_string()))
}
