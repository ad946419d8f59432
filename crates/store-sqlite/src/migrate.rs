//! Schema migrations: the embedded `migrations/*.sql`, applied in order, each recorded in
//! `schema_migrations`.

use rusqlite::{Connection, OptionalExtension};
use tickler_store::StoreError;

use crate::error::ResultExt;

/// One migration: its version, name and SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration of this build, in order. Never edit an applied one: add a new file.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "event_backbone",
        sql: include_str!("../migrations/0002_event_backbone.sql"),
    },
    Migration {
        version: 3,
        name: "conversations",
        sql: include_str!("../migrations/0003_conversations.sql"),
    },
    Migration {
        version: 5,
        name: "notifications",
        sql: include_str!("../migrations/0005_notifications.sql"),
    },
    Migration {
        version: 6,
        name: "recurring_series",
        sql: include_str!("../migrations/0006_recurring_series.sql"),
    },
    Migration {
        version: 7,
        name: "scheduled_reminders",
        sql: include_str!("../migrations/0007_scheduled_reminders.sql"),
    },
    Migration {
        version: 9,
        name: "live_tickets",
        sql: include_str!("../migrations/0009_live_tickets.sql"),
    },
    Migration {
        version: 10,
        name: "auth_sessions",
        sql: include_str!("../migrations/0010_auth_sessions.sql"),
    },
    Migration {
        version: 11,
        name: "calendar_feeds",
        sql: include_str!("../migrations/0011_calendar_feeds.sql"),
    },
    Migration {
        version: 12,
        name: "import_ledger",
        sql: include_str!("../migrations/0012_import_ledger.sql"),
    },
    Migration {
        version: 13,
        name: "api_token_scopes",
        sql: include_str!("../migrations/0013_api_token_scopes.sql"),
    },
    Migration {
        version: 17,
        name: "reminder_snoozed_into",
        sql: include_str!("../migrations/0017_reminder_snoozed_into.sql"),
    },
    Migration {
        version: 20,
        name: "notification_trace",
        sql: include_str!("../migrations/0020_notification_trace.sql"),
    },
    Migration {
        version: 21,
        name: "operators_and_channel_verification",
        sql: include_str!("../migrations/0021_operators_and_channel_verification.sql"),
    },
    Migration {
        version: 22,
        name: "audit_chain",
        sql: include_str!("../migrations/0022_audit_chain.sql"),
    },
    Migration {
        version: 24,
        name: "search_terms",
        sql: include_str!("../migrations/0024_search_terms.sql"),
    },
];

/// Applies the migrations not yet recorded; runs inside the writer's transaction, which holds
/// the database's write lock, so two processes migrating at once apply each migration once.
/// Versions recorded by a newer build are left alone.
pub(crate) fn apply_pending(connection: &Connection) -> Result<Vec<i64>, StoreError> {
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            )",
        )
        .store()?;
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let present: Option<i64> = connection
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [migration.version],
                |row| row.get(0),
            )
            .optional()
            .store()?;
        if present.is_some() {
            continue;
        }
        connection.execute_batch(migration.sql).map_err(|error| {
            StoreError::Internal(format!(
                "migration {} ({}) failed: {error}",
                migration.version, migration.name
            ))
        })?;
        connection
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                (migration.version, migration.name),
            )
            .store()?;
        applied.push(migration.version);
    }
    Ok(applied)
}

/// Succeeds when every migration of this build is recorded.
pub(crate) fn check_applied(connection: &Connection) -> Result<(), StoreError> {
    let table: Option<String> = connection
        .query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |row| row.get(0),
        )
        .optional()
        .store()?;
    if table.is_none() {
        return Err(not_migrated());
    }
    let mut statement = connection
        .prepare_cached("SELECT version FROM schema_migrations")
        .store()?;
    let versions = statement
        .query_map([], |row| row.get::<_, i64>(0))
        .store()?
        .collect::<Result<Vec<_>, _>>()
        .store()?;
    if MIGRATIONS.iter().all(|m| versions.contains(&m.version)) {
        Ok(())
    } else {
        Err(not_migrated())
    }
}

fn not_migrated() -> StoreError {
    StoreError::Unavailable("the database schema is not migrated; run `tickler migrate`".into())
}
