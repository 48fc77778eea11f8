//! Partner API keys: issued and revoked by operators, stored only as a
//! SHA-256 digest so that a copy of the database grants no access.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio_postgres::{error::SqlState, GenericClient, Row};

use super::StoreError;

/// Every key starts with this, so leaked keys are easy to recognise (secret
/// scanners match on it).
pub const KEY_PREFIX: &str = "tw_live_";

/// Characters of a key kept in the clear to tell keys apart.
const SHOWN_PREFIX_LEN: usize = KEY_PREFIX.len() + 6;

/// A key as stored: everything but the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `key_` followed by 16 hex digits.
    pub id: String,
    /// The partner the key acts for.
    pub partner_id: String,
    /// The first characters of the key.
    pub prefix: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&Row> for ApiKey {
    fn from(row: &Row) -> Self {
        ApiKey {
            id: row.get("id"),
            partner_id: row.get("partner_id"),
            prefix: row.get("prefix"),
            created_at: row.get("created_at"),
            revoked_at: row.get("revoked_at"),
        }
    }
}

/// Who a presented key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    /// The key's id.
    pub key_id: String,
    /// The partner.
    pub partner_id: String,
    /// The partner's status (`active` or `suspended`).
    pub partner_status: String,
}

/// The digest stored for `key`.
pub fn digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// A fresh key: the prefix and 192 random bits in hex.
fn generate() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Issues a key for `partner_id`. Returns the record and the key, which is
/// not stored and cannot be shown again.
pub async fn issue(
    client: &impl GenericClient,
    partner_id: &str,
) -> Result<(ApiKey, String), StoreError> {
    let key = generate();
    let id = format!("key_{:016x}", rand::random::<u64>());
    let row = client
        .query_one(
            "INSERT INTO api_keys (id, partner_id, key_hash, prefix) VALUES ($1, $2, $3, $4)
             RETURNING id, partner_id, prefix, created_at, revoked_at",
            &[&id, &partner_id, &digest(&key), &&key[..SHOWN_PREFIX_LEN]],
        )
        .await
        .map_err(|e| match e.code() {
            Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
                StoreError::UnknownPartner(partner_id.to_owned())
            }
            _ => StoreError::Db(e),
        })?;
    Ok((ApiKey::from(&row), key))
}

/// A partner's keys, newest first, revoked ones included.
pub async fn list_for_partner(
    client: &impl GenericClient,
    partner_id: &str,
) -> Result<Vec<ApiKey>, StoreError> {
    let rows = client
        .query(
            "SELECT id, partner_id, prefix, created_at, revoked_at FROM api_keys
             WHERE partner_id = $1 ORDER BY created_at DESC, id",
            &[&partner_id],
        )
        .await?;
    Ok(rows.iter().map(ApiKey::from).collect())
}

/// Revokes one of a partner's keys. Returns false when the partner has no key
/// with that id. Revoking twice keeps the first revocation time.
pub async fn revoke(
    client: &impl GenericClient,
    partner_id: &str,
    key_id: &str,
) -> Result<bool, StoreError> {
    let n = client
        .execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
             WHERE id = $1 AND partner_id = $2",
            &[&key_id, &partner_id],
        )
        .await?;
    Ok(n == 1)
}

/// The owner of an unrevoked key, if `key` is one.
pub async fn owner(client: &impl GenericClient, key: &str) -> Result<Option<KeyOwner>, StoreError> {
    let row = client
        .query_opt(
            "SELECT p.id, p.status, k.id FROM api_keys k JOIN partners p ON p.id = k.partner_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
            &[&digest(key)],
        )
        .await?;
    Ok(row.map(|r| KeyOwner {
        key_id: r.get(2),
        partner_id: r.get(0),
        partner_status: r.get(1),
    }))
}
