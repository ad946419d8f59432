//! Building blocks of the conformance cases: users, tasks and instants that tests arrange.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use tickler_domain::{
    Due, Email, EventId, Priority, Tag, Tags, Task, TaskFields, TaskId, TaskStatus, TimeZone,
    Title, User, UserId,
};
use uuid::Uuid;

use crate::audit_chain;
use crate::{
    AuditOf, AuditRecord, ChangeSet, OutboxMessage, SortField, SortKey, Store, TaskQuery, TaskWrite,
};

/// Returns a fixed instant plus `seconds` (tests never read the clock).
pub fn instant(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

/// Returns an account that is not stored yet.
pub fn new_user(email: &str) -> User {
    User {
        id: UserId::from_uuid(Uuid::now_v7()),
        email: Email::parse(email).unwrap(),
        name: Some("Ada".into()),
        timezone: TimeZone::parse("Asia/Karachi").unwrap(),
        created_at: instant(0),
        updated_at: instant(0),
        credentials_version: 1,
        operator: false,
    }
}

/// Builds no audit rows, for account changes a case makes without them.
pub fn no_audit<T>() -> AuditOf<T> {
    std::sync::Arc::new(|_: &T| Vec::new())
}

/// 240 tasks of varied shape for tests that list them two ways and compare: one in seven
/// belongs to `other`; titles `call WORD WORD` (four first words, three second), one in
/// fifty with "zebra"; a description on every third; no tags, `work`, `home` or both in turn;
/// one in ten in progress and one in ten done; every priority; seven in ten due within a day;
/// creation instants in pairs, so orders tie and fall back to the id.
pub fn varied_tasks(user: UserId, other: UserId) -> Vec<Task> {
    let first = ["report", "meeting", "email", "review"];
    let second = ["invoice", "dentist", "roof"];
    (0..240_i64)
        .map(|n| {
            let index = usize::try_from(n).unwrap();
            let owner = if n % 7 == 6 { other } else { user };
            let rare = if n % 50 == 3 { " zebra" } else { "" };
            let title = format!("call {} {}{rare}", first[index % 4], second[index / 4 % 3]);
            let mut task = new_task(owner, &title);
            if n % 3 == 0 {
                task.fields.description = format!("notes about the {}", second[index % 3]);
            }
            task.fields.tags = tags(match n % 4 {
                0 => &[][..],
                1 => &["work"][..],
                2 => &["home"][..],
                _ => &["home", "work"][..],
            });
            task.fields.status = match n % 10 {
                7 => TaskStatus::InProgress,
                8 => TaskStatus::Done,
                _ => TaskStatus::Todo,
            };
            task.fields.priority = Priority::ALL[index % 5];
            if n % 10 < 7 {
                task.fields.due = Some(Due {
                    at: instant(n * 3_607 % 86_400),
                    all_day: false,
                });
            }
            task.created_at = instant(n / 2);
            task.updated_at = task.created_at;
            task
        })
        .collect()
}

/// The orders a walk-versus-collect test lists [`varied_tasks`] in: by due date both ways,
/// due date then priority, priority, title and creation.
pub fn varied_sorts() -> Vec<Vec<SortKey>> {
    vec![
        vec![SortKey::ascending(SortField::DueAt)],
        vec![SortKey::descending(SortField::DueAt)],
        vec![
            SortKey::ascending(SortField::DueAt),
            SortKey::descending(SortField::Priority),
        ],
        vec![SortKey::descending(SortField::Priority)],
        vec![SortKey::ascending(SortField::Title)],
        vec![SortKey::descending(SortField::CreatedAt)],
    ]
}

/// The filters a walk-versus-collect test lists [`varied_tasks`] with: none, two tags with
/// open statuses, priorities within a due range, overdue.
pub fn varied_filters() -> Vec<TaskQuery> {
    vec![
        everything(),
        TaskQuery {
            tags: tags(&["home", "work"]).as_slice().to_vec(),
            statuses: vec![TaskStatus::Todo, TaskStatus::InProgress],
            ..everything()
        },
        TaskQuery {
            priorities: vec![Priority::High, Priority::Urgent],
            due_after: Some(instant(20_000)),
            due_before: Some(instant(60_000)),
            ..everything()
        },
        TaskQuery {
            overdue_at: Some(instant(40_000)),
            ..everything()
        },
    ]
}

/// Registers a new account with an open registration rule.
pub async fn register(store: &dyn Store, email: &str) -> User {
    let user = new_user(email);
    store
        .insert_user(&user, "$argon2id$hash", crate::RegistrationRule::Open, &[])
        .await
        .unwrap();
    user
}

/// Returns a task (not stored yet) with only a title, created at [`instant`]`(0)`.
pub fn new_task(owner: UserId, title: &str) -> Task {
    let id = TaskId::from_uuid(Uuid::now_v7());
    Task {
        id,
        owner,
        fields: TaskFields {
            title: Title::parse(title).unwrap(),
            description: String::new(),
            status: TaskStatus::Todo,
            priority: Priority::None,
            due: None,
            timezone: TimeZone::UTC,
            tags: Tags::default(),
            recurrence: None,
            recurrence_mode: Default::default(),
            reminders: Vec::new(),
        },
        created_at: instant(0),
        updated_at: instant(0),
        completed_at: None,
        version: 1,
        series: tickler_domain::SeriesPosition::first(id),
    }
}

/// Parses tags.
pub fn tags(names: &[&str]) -> Tags {
    Tags::parse("tags", names).unwrap()
}

/// Parses one tag.
pub fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

/// Returns a due date at `instant(seconds)`.
pub fn due(seconds: i64) -> Option<Due> {
    Some(Due {
        at: instant(seconds),
        all_day: false,
    })
}

/// Commits the insertion of every task in one change set.
pub async fn insert(store: &dyn Store, tasks: &[Task]) {
    store
        .commit(ChangeSet {
            tasks: tasks.iter().cloned().map(TaskWrite::Insert).collect(),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
}

/// Returns an outbox event about `subject` of `owner`.
pub fn event(owner: UserId, subject: &str, event_type: &str) -> OutboxMessage {
    OutboxMessage {
        id: EventId::from_uuid(Uuid::now_v7()),
        event_type: event_type.into(),
        subject: subject.into(),
        owner,
        occurred_at: instant(1),
        payload: format!("{{\"type\":\"{event_type}\",\"subject\":\"{subject}\"}}"),
    }
}

/// Commits `batches` change sets of `per_batch` outbox events each (subjects
/// `task-<batch>-<n>`); returns the events in the order written.
pub async fn commit_event_batches(
    store: &dyn Store,
    owner: UserId,
    batches: usize,
    per_batch: usize,
) -> Vec<OutboxMessage> {
    let mut written = Vec::new();
    for batch in 0..batches {
        let events: Vec<_> = (0..per_batch)
            .map(|n| event(owner, &format!("task-{batch}-{n}"), "tickler.task.created"))
            .collect();
        written.extend(events.iter().cloned());
        append(store, events).await;
    }
    written
}

/// Commits outbox events alone, in one change set.
pub async fn append(store: &dyn Store, events: Vec<OutboxMessage>) {
    store
        .commit(ChangeSet {
            events,
            ..ChangeSet::default()
        })
        .await
        .unwrap();
}

/// A query for everything, in pages of the largest size.
pub fn everything() -> TaskQuery {
    TaskQuery {
        limit: crate::query::MAX_PAGE_SIZE,
        ..TaskQuery::default()
    }
}

/// Walks every page of `query` (with its limit), checking that no task repeats; returns the
/// tasks in order.
pub async fn list_all(store: &dyn Store, owner: UserId, query: &TaskQuery) -> Vec<Task> {
    page_through(query, |query| async move {
        store.list_tasks(owner, &query).await.unwrap()
    })
    .await
}

/// Follows `list`'s cursors from `query` to the last page and returns every task in order,
/// checking that no page is larger than its limit and no task comes twice. For adapter tests
/// that list through an internal function (a way of reading forced) rather than the store.
pub async fn page_through<F, Fut>(query: &TaskQuery, mut list: F) -> Vec<Task>
where
    F: FnMut(TaskQuery) -> Fut,
    Fut: std::future::Future<Output = crate::TaskPage>,
{
    let mut query = query.clone();
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let page = list(query.clone()).await;
        assert!(
            page.items.len() <= query.limit as usize,
            "page larger than its limit"
        );
        for task in page.items {
            assert!(seen.insert(task.id), "task {} listed twice", task.id);
            all.push(task);
        }
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => return all,
        }
    }
    panic!("listing never ended");
}

/// Returns the ids of tasks, in order.
pub fn ids(tasks: &[Task]) -> Vec<TaskId> {
    tasks.iter().map(|task| task.id).collect()
}

/// Returns the titles of tasks, in order.
pub fn titles(tasks: &[Task]) -> Vec<String> {
    tasks
        .iter()
        .map(|task| task.fields.title.as_str().to_owned())
        .collect()
}

/// Lists the titles matching `query` (all pages).
pub async fn titles_of(store: &dyn Store, owner: UserId, query: TaskQuery) -> Vec<String> {
    titles(&list_all(store, owner, &query).await)
}

/// Lists the sorted titles matching `query` (all pages), for order-independent comparisons.
pub async fn sorted_titles_of(store: &dyn Store, owner: UserId, query: TaskQuery) -> Vec<String> {
    let mut titles = titles_of(store, owner, query).await;
    titles.sort();
    titles
}

/// Returns a search query for `text` (relevance order).
pub fn search(text: &str) -> TaskQuery {
    TaskQuery {
        text: Some(text.into()),
        ..everything()
    }
}

/// Reads the outbox after `position` until at least `expected` records are readable, or fails
/// after ten seconds. PostgreSQL makes a record readable only once every older transaction of
/// the server (in any database) has ended, so a record may show up a moment after its commit.
pub async fn outbox_eventually(
    store: &dyn Store,
    position: crate::OutboxPosition,
    expected: usize,
) -> Vec<crate::OutboxRecord> {
    outbox_eventually_where(store, position, expected, |_| true).await
}

/// [`outbox_eventually`] counting only the records `keep` accepts.
pub async fn outbox_eventually_where(
    store: &dyn Store,
    position: crate::OutboxPosition,
    expected: usize,
    keep: impl Fn(&crate::OutboxRecord) -> bool,
) -> Vec<crate::OutboxRecord> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut records = store.outbox_after(position, 10_000).await.unwrap();
        records.retain(&keep);
        if records.len() >= expected || std::time::Instant::now() > deadline {
            assert_eq!(records.len(), expected, "outbox records after {position:?}");
            return records;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Reads the head of the outbox until it is `expected`, or fails after ten seconds (PostgreSQL
/// makes a record readable a moment after its commit, see [`outbox_eventually`]).
pub async fn head_eventually(store: &dyn Store, expected: crate::OutboxPosition) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let head = store.outbox_head().await.unwrap();
        if head == expected || std::time::Instant::now() > deadline {
            assert_eq!(head, expected, "head of the outbox");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs futures concurrently on the runtime and returns their outputs in order.
pub async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

/// Returns the audit row (not stored yet) of an account change of `owner`.
pub fn account_row(owner: UserId, event_type: &str) -> AuditRecord {
    AuditRecord {
        event_id: EventId::from_uuid(Uuid::now_v7()),
        owner,
        task_id: None,
        event_type: event_type.to_owned(),
        origin: Some("api".to_owned()),
        correlation_id: None,
        occurred_at: instant(0),
        recorded_at: instant(0),
        data: "{}".to_owned(),
    }
}

/// Builds one row of `event_type` for the owner `owner_of` finds in the change's outcome.
pub fn row_of<T: 'static>(event_type: &'static str, owner_of: fn(&T) -> UserId) -> AuditOf<T> {
    Arc::new(move |outcome: &T| vec![account_row(owner_of(outcome), event_type)])
}

/// Reads the types of a user's audit rows in the order they joined the user's chain, after
/// checking that the chain holds.
pub async fn audit_types(store: &dyn Store, owner: UserId) -> Vec<String> {
    if let Err(broken) = audit_chain::verify(store, owner).await.unwrap() {
        panic!("the chain should hold: {broken}");
    }
    store
        .audit_chain(owner, 0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|link| link.record.event_type)
        .collect()
}
