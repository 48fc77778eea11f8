//! Schema migrations: the SQL files in `migrations/`, embedded in the binary
//! and applied in order by `trackwire migrate`.

use tokio_postgres::Client;

/// One migration: its number, name and SQL.
pub struct Migration {
    /// Applied in ascending order; never reused.
    pub version: i32,
    /// The file name, for the record.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial.sql",
        sql: include_str!("../../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_admin_api.sql",
        sql: include_str!("../../migrations/0002_admin_api.sql"),
    },
    Migration {
        version: 3,
        name: "0003_schema_v2.sql",
        sql: include_str!("../../migrations/0003_schema_v2.sql"),
    },
    Migration {
        version: 4,
        name: "0004_endpoint_health.sql",
        sql: include_str!("../../migrations/0004_endpoint_health.sql"),
    },
    Migration {
        version: 5,
        name: "0005_portal.sql",
        sql: include_str!("../../migrations/0005_portal.sql"),
    },
    Migration {
        version: 6,
        name: "0006_cluster.sql",
        sql: include_str!("../../migrations/0006_cluster.sql"),
    },
    Migration {
        version: 7,
        name: "0007_hot_path_keys.sql",
        sql: include_str!("../../migrations/0007_hot_path_keys.sql"),
    },
    Migration {
        version: 8,
        name: "0008_endpoint_history.sql",
        sql: include_str!("../../migrations/0008_endpoint_history.sql"),
    },
    Migration {
        version: 9,
        name: "0009_built_in_tracking.sql",
        sql: include_str!("../../migrations/0009_built_in_tracking.sql"),
    },
    Migration {
        version: 10,
        name: "0010_response_rules.sql",
        sql: include_str!("../../migrations/0010_response_rules.sql"),
    },
    Migration {
        version: 11,
        name: "0011_sms.sql",
        sql: include_str!("../../migrations/0011_sms.sql"),
    },
];

/// Serialises concurrent `migrate` runs (several processes starting at once).
const LOCK_KEY: i64 = 0x7472_6163_6b77_6972; // "trackwir"

/// Applies every migration not yet applied, each in its own transaction.
/// Returns the versions applied now.
pub async fn run(client: &mut Client) -> Result<Vec<i32>, tokio_postgres::Error> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_pending(client).await;
    // Unlock even when a migration failed; the session ends soon anyway.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply_pending(client: &mut Client) -> Result<Vec<i32>, tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS trackwire_migrations (
                 version     integer PRIMARY KEY,
                 name        text NOT NULL,
                 applied_at  timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let tx = client.transaction().await?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM trackwire_migrations WHERE version = $1",
                &[&m.version],
            )
            .await?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO trackwire_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await?;
        tx.commit().await?;
        applied.push(m.version);
    }
    Ok(applied)
}

/// The newest version applied, or `None` on an empty database.
pub async fn current_version(client: &Client) -> Result<Option<i32>, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('trackwire_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    client
        .query_one("SELECT max(version) FROM trackwire_migrations", &[])
        .await
        .map(|row| row.get(0))
}

/// The version this build expects.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
