//! A JSON merge patch (RFC 7396) of a task, decoded once per request and applied to the task
//! as read on each attempt of the change.
//!
//! No member of a task's document (a [`TaskRequest`]) is an object: each is a string, a
//! boolean, an enum name, an array or null. Merging a patch into that document therefore
//! replaces each member the patch names (with the patch's value, the nulls of its objects
//! removed), resets the members it sets to `null`, and keeps the others. That is applied here
//! member by member to the task's input, without writing the task out as JSON and reading the
//! merged document back.

use serde_json::{Map, Value};
use tickler_domain::TaskInput;
use tickler_protocol::task::TaskRequest;

use crate::error::AppResult;
use crate::{decode, merge_patch};

/// A decoded merge patch of a task.
#[derive(Debug, Clone)]
pub(crate) struct TaskPatch {
    /// The values the patch sets; `None` for the members it resets or does not name.
    values: TaskRequest,
    /// The members it names, set or reset.
    named: Vec<String>,
}

impl TaskPatch {
    /// Decodes the members of a patch. A value that does not fit its member, or an unknown
    /// member that is not `null`, is a field error naming it, the first in member order, as
    /// decoding the merged document reports it.
    pub(crate) fn decode(patch: Map<String, Value>) -> AppResult<Self> {
        let mut named = Vec::with_capacity(patch.len());
        let mut set = Map::new();
        for (member, value) in patch {
            if !value.is_null() {
                // What merging leaves in a member that is not an object.
                let mut merged = Value::Null;
                merge_patch::apply(&mut merged, value);
                set.insert(member.clone(), merged);
            }
            named.push(member);
        }
        let values: TaskRequest = decode::from_value(Value::Object(set))?;
        Ok(Self { values, named })
    }

    /// Returns `input` (the task as it is) with the patch applied.
    pub(crate) fn apply(&self, mut input: TaskInput) -> TaskInput {
        let names = |member: &str| self.named.iter().any(|name| name == member);
        // A member's wire name is its field's name. The pattern names every field, so a field
        // added to `TaskInput` does not compile until it is patched here too.
        macro_rules! take_named {
            ($($member:ident),*) => {
                let TaskInput { $($member),* } = TaskInput::from(self.values.clone());
                $(if names(stringify!($member)) {
                    input.$member = $member;
                })*
            };
        }
        take_named!(
            title,
            description,
            status,
            priority,
            due_at,
            all_day,
            timezone,
            tags,
            recurrence,
            recurrence_mode,
            reminders
        );
        input
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tickler_domain::{Priority, RecurrenceMode, TaskStatus};

    use super::*;
    use crate::AppError;

    /// What a patch made of the task's input when the merge went through JSON: the input
    /// written out as a request, the patch merged in, the document decoded back.
    fn through_json(input: &TaskInput, patch: &Value) -> AppResult<TaskInput> {
        let mut document = serde_json::to_value(TaskRequest::from(input.clone())).unwrap();
        merge_patch::apply(&mut document, patch.clone());
        let request: TaskRequest = decode::from_value(document)?;
        Ok(TaskInput::from(request))
    }

    fn member_by_member(input: &TaskInput, patch: &Value) -> AppResult<TaskInput> {
        let Value::Object(patch) = patch.clone() else {
            panic!("a patch is an object");
        };
        Ok(TaskPatch::decode(patch)?.apply(input.clone()))
    }

    fn errors(error: AppError) -> Vec<(String, &'static str, String)> {
        error
            .field_errors()
            .iter()
            .map(|field| (field.field.clone(), field.code, field.message.clone()))
            .collect()
    }

    #[test]
    fn a_patch_applied_member_by_member_is_the_merge_of_the_documents() {
        let inputs = [
            TaskInput {
                title: "Pay rent".into(),
                ..TaskInput::default()
            },
            TaskInput {
                title: "Water the plants".into(),
                description: "the ferns too".into(),
                status: TaskStatus::InProgress,
                priority: Priority::High,
                due_at: Some("2026-12-01".into()),
                all_day: true,
                timezone: Some("Europe/Berlin".into()),
                tags: vec!["home".into(), "garden".into()],
                recurrence: Some("FREQ=WEEKLY;BYDAY=MO".into()),
                recurrence_mode: RecurrenceMode::FromCompletion,
                reminders: vec!["-PT30M".into()],
            },
        ];
        let patches = [
            json!({}),
            json!({"title": "Pay the rent"}),
            json!({"title": null, "description": null, "status": null, "priority": null}),
            json!({"due_at": null, "all_day": null, "timezone": null, "recurrence": null}),
            json!({"recurrence_mode": null, "tags": null, "reminders": null}),
            json!({"tags": ["a", "b"], "reminders": [], "priority": "urgent"}),
            json!({"status": "done", "due_at": "2026-12-24T18:00:00Z", "all_day": false}),
            json!({"recurrence": "FREQ=DAILY", "recurrence_mode": "from_due"}),
            json!({"timezone": "Asia/Karachi", "unknown_member": null}),
        ];
        for input in &inputs {
            for patch in &patches {
                assert_eq!(
                    member_by_member(input, patch).unwrap(),
                    through_json(input, patch).unwrap(),
                    "{patch}"
                );
            }
        }
    }

    #[test]
    fn a_patch_that_does_not_decode_fails_as_the_merged_document_did() {
        let input = TaskInput {
            title: "Pay rent".into(),
            tags: vec!["home".into()],
            ..TaskInput::default()
        };
        let patches = [
            json!({"title": 5}),
            json!({"tags": ["a", 5]}),
            json!({"owner": "someone"}),
            json!({"zeta": 1, "alpha": 2, "title": []}),
            json!({"priority": "highest", "status": "finished"}),
            json!({"status": {"done": null}}),
            json!({"title": {"text": "x", "gone": null}}),
            json!({"all_day": "yes", "description": false}),
        ];
        for patch in &patches {
            let expected = through_json(&input, patch).unwrap_err();
            let actual = member_by_member(&input, patch).unwrap_err();
            assert_eq!(errors(actual), errors(expected), "{patch}");
        }
    }
}
