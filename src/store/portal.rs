//! The portal's credentials: single-use sign-in links issued by operators,
//! and browser sessions. Tokens are stored as SHA-256 digests only (like API
//! keys), so a copy of the database signs nobody in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::{error::SqlState, GenericClient};

use super::api_keys::digest;
use super::StoreError;

/// Prefix of sign-in link tokens, so a leaked one is recognisable.
pub const LINK_PREFIX: &str = "twl_";

/// A random token: `prefix` and 192 random bits in hex.
fn token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Issues a sign-in link token for `partner_id`, valid for `ttl`. Returns the
/// token (not stored, shown once) and when it expires.
pub async fn issue_link(
    client: &impl GenericClient,
    partner_id: &str,
    ttl: Duration,
) -> Result<(String, DateTime<Utc>), StoreError> {
    let token = token(LINK_PREFIX);
    let row = client
        .query_one(
            "INSERT INTO portal_links (token_hash, partner_id, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at",
            &[&digest(&token), &partner_id, &seconds(ttl)],
        )
        .await
        .map_err(|e| match e.code() {
            Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
                StoreError::UnknownPartner(partner_id.to_owned())
            }
            _ => StoreError::Db(e),
        })?;
    Ok((token, row.get(0)))
}

/// The partner (id, name) a link would sign in, without using it up; `None`
/// when the link is unknown, used, expired, or its partner is suspended.
pub async fn peek_link(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT p.id, p.name FROM portal_links l JOIN partners p ON p.id = l.partner_id
             WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()
               AND p.status = 'active'",
            &[&digest(token)],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Uses a link up: returns its partner if the link was valid, and marks it
/// used in the same statement, so two concurrent redemptions cannot both win.
pub async fn redeem_link(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt(
            "UPDATE portal_links l SET used_at = now()
             FROM partners p
             WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()
               AND p.id = l.partner_id AND p.status = 'active'
             RETURNING l.partner_id",
            &[&digest(token)],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The partner everything in the session is scoped to.
    pub partner_id: String,
    /// Its display name.
    pub partner_name: String,
    /// The synchronizer token every form must carry.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// Opens a session for `partner_id` lasting `ttl` (tied to `api_key_id` when
/// it was opened with an API key). Returns the session token (for the
/// cookie; only its digest is stored). Expired sessions are swept on the way.
pub async fn open_session(
    client: &impl GenericClient,
    partner_id: &str,
    api_key_id: Option<&str>,
    ttl: Duration,
) -> Result<String, StoreError> {
    client
        .execute("DELETE FROM portal_sessions WHERE expires_at < now()", &[])
        .await?;
    let session = token("tws_");
    let csrf = token("");
    client
        .execute(
            "INSERT INTO portal_sessions (token_hash, partner_id, api_key_id, csrf_token, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
            &[
                &digest(&session),
                &partner_id,
                &api_key_id,
                &csrf,
                &seconds(ttl),
            ],
        )
        .await?;
    Ok(session)
}

/// The live session of `token`: unexpired, its partner active, and its API
/// key (if it was opened with one) not revoked.
pub async fn session(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<Session>, StoreError> {
    let row = client
        .query_opt(
            "SELECT s.partner_id, p.name, s.csrf_token, s.expires_at
             FROM portal_sessions s JOIN partners p ON p.id = s.partner_id
             LEFT JOIN api_keys k ON k.id = s.api_key_id
             WHERE s.token_hash = $1 AND s.expires_at > now() AND p.status = 'active'
               AND (s.api_key_id IS NULL OR k.revoked_at IS NULL)",
            &[&digest(token)],
        )
        .await?;
    Ok(row.map(|r| Session {
        partner_id: r.get(0),
        partner_name: r.get(1),
        csrf_token: r.get(2),
        expires_at: r.get(3),
    }))
}

/// Ends a session (sign-out).
pub async fn close_session(client: &impl GenericClient, token: &str) -> Result<(), StoreError> {
    client
        .execute(
            "DELETE FROM portal_sessions WHERE token_hash = $1",
            &[&digest(token)],
        )
        .await?;
    Ok(())
}
