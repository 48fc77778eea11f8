//! Partners: the tenants whose endpoints receive events.

use chrono::{DateTime, Utc};
use tokio_postgres::{error::SqlState, GenericClient, Row};

use super::StoreError;

/// A partner as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// The partner id used in CDC records (`partner_id` column of the OMS).
    pub id: String,
    /// Display name.
    pub name: String,
    /// `active` or `suspended`; a suspended partner receives nothing.
    pub status: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<Row> for Partner {
    fn from(row: Row) -> Self {
        Partner {
            id: row.get("id"),
            name: row.get("name"),
            status: row.get("status"),
            created_at: row.get("created_at"),
        }
    }
}

/// Creates a partner. Fails with [`StoreError::PartnerExists`] on a duplicate id.
pub async fn insert(
    client: &impl GenericClient,
    id: &str,
    name: &str,
) -> Result<Partner, StoreError> {
    let row = client
        .query_one(
            "INSERT INTO partners (id, name) VALUES ($1, $2) RETURNING id, name, status, created_at",
            &[&id, &name],
        )
        .await
        .map_err(|e| match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::PartnerExists(id.to_owned()),
            _ => StoreError::Db(e),
        })?;
    Ok(row.into())
}

/// Every partner, by id.
pub async fn list(client: &impl GenericClient) -> Result<Vec<Partner>, StoreError> {
    let rows = client
        .query(
            "SELECT id, name, status, created_at FROM partners ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows.into_iter().map(Partner::from).collect())
}

/// One partner, if it exists.
pub async fn get(client: &impl GenericClient, id: &str) -> Result<Option<Partner>, StoreError> {
    let row = client
        .query_opt(
            "SELECT id, name, status, created_at FROM partners WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(Partner::from))
}

/// Sets a partner's status (`active` or `suspended`). Returns the partner, or
/// `None` when it does not exist.
pub async fn set_status(
    client: &impl GenericClient,
    id: &str,
    status: &str,
) -> Result<Option<Partner>, StoreError> {
    let row = client
        .query_opt(
            "UPDATE partners SET status = $2 WHERE id = $1
             RETURNING id, name, status, created_at",
            &[&id, &status],
        )
        .await?;
    Ok(row.map(Partner::from))
}
