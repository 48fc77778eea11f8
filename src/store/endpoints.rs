//! Endpoints: where a partner wants events, which event types, and the secrets
//! that sign them.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use tokio_postgres::{error::SqlState, GenericClient, Row};

use super::StoreError;
use crate::schema::{EventType, SchemaVersion};
use crate::webhook::{SigningScheme, SigningSecret};

/// A partner may register at most this many endpoints (also enforced by a
/// trigger in the database).
pub const MAX_PER_PARTNER: usize = 5;

/// An endpoint with everything needed to deliver to it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `ep_` followed by 16 hex digits.
    pub id: String,
    /// The owning partner.
    pub partner_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Free text for the partner.
    pub description: String,
    /// A disabled endpoint receives no new deliveries.
    pub enabled: bool,
    /// Why trackwire disabled it (the endpoint answered `410 Gone`), while
    /// it stays disabled; `None` when enabled or disabled by the partner.
    pub disabled_reason: Option<String>,
    /// When trackwire disabled it, with `disabled_reason`.
    pub disabled_at: Option<DateTime<Utc>>,
    /// The payload version this endpoint is pinned to.
    pub schema_version: SchemaVersion,
    /// The event types routed to it.
    pub event_types: Vec<EventType>,
    /// The partner's rate limit; `None` sends as fast as the endpoint's
    /// concurrency allows.
    pub rate_limit: Option<RateLimit>,
    /// How requests are signed; every secret in `secrets` is of this scheme.
    pub signing_scheme: SigningScheme,
    /// Secrets that sign each request, newest first; more than one during a
    /// rotation.
    pub secrets: Vec<SigningSecret>,
    /// Last change of any of the above.
    pub updated_at: DateTime<Utc>,
}

/// A partner's limit on how fast one endpoint is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Attempts a second, sustained (1..=10,000).
    pub per_second: u32,
    /// Attempts that may go at once after a quiet spell (1..=10,000).
    pub burst: u32,
}

/// What a new endpoint is made of.
#[derive(Debug, Clone)]
pub struct NewEndpoint<'a> {
    /// The owning partner.
    pub partner_id: &'a str,
    /// A URL already validated by [`crate::endpoint_url::EndpointUrl::parse`].
    pub url: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Event types to route to it.
    pub event_types: &'a [EventType],
    /// Payload version to pin.
    pub schema_version: SchemaVersion,
}

/// Selects endpoints with their event types and their unexpired secrets.
const SELECT: &str = "
    SELECT e.id, e.partner_id, e.url, e.description, e.enabled, e.disabled_reason, e.disabled_at,
           e.schema_version, e.signing_scheme, e.rate_limit_per_second, e.rate_limit_burst,
           e.updated_at,
           ARRAY(SELECT t.event_type FROM endpoint_event_types t
                 WHERE t.endpoint_id = e.id ORDER BY t.event_type) AS event_types,
           ARRAY(SELECT s.secret FROM endpoint_secrets s
                 WHERE s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > now())
                 ORDER BY s.created_at DESC, s.id DESC) AS secrets
    FROM endpoints e";

fn from_row(row: &Row) -> Result<Endpoint, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        table: "endpoints",
        message,
    };
    let version: String = row.get("schema_version");
    let scheme: String = row.get("signing_scheme");
    let types: Vec<String> = row.get("event_types");
    let secrets: Vec<String> = row.get("secrets");
    Ok(Endpoint {
        id: row.get("id"),
        partner_id: row.get("partner_id"),
        url: row.get("url"),
        description: row.get("description"),
        enabled: row.get("enabled"),
        disabled_reason: row.get("disabled_reason"),
        disabled_at: row.get("disabled_at"),
        schema_version: SchemaVersion::from_str(&version).map_err(|e| corrupt(e.to_string()))?,
        event_types: types
            .iter()
            .map(|t| EventType::from_str(t).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<_, _>>()?,
        rate_limit: rate_limit_of(row),
        signing_scheme: SigningScheme::from_str(&scheme).map_err(|e| corrupt(e.to_string()))?,
        secrets: secrets
            .iter()
            .map(|s| SigningSecret::parse(s).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<_, _>>()?,
        updated_at: row.get("updated_at"),
    })
}

fn rate_limit_of(row: &Row) -> Option<RateLimit> {
    let per_second: Option<i32> = row.get("rate_limit_per_second");
    let burst: Option<i32> = row.get("rate_limit_burst");
    // The table's checks keep both positive, and both or neither set.
    Some(RateLimit {
        per_second: u32::try_from(per_second?).ok()?,
        burst: u32::try_from(burst?).ok()?,
    })
}

fn new_id() -> String {
    format!("ep_{:016x}", rand::random::<u64>())
}

/// Creates an endpoint signing with HMAC; see [`insert_signed`].
pub async fn insert(
    tx: &impl GenericClient,
    new: &NewEndpoint<'_>,
) -> Result<(Endpoint, SigningSecret), StoreError> {
    insert_signed(tx, new, SigningScheme::Hmac).await
}

/// Creates an endpoint with its event types and a first signing secret of
/// `scheme`, in the caller's transaction. Returns the endpoint and the
/// secret (an HMAC secret is shown once).
pub async fn insert_signed(
    tx: &impl GenericClient,
    new: &NewEndpoint<'_>,
    scheme: SigningScheme,
) -> Result<(Endpoint, SigningSecret), StoreError> {
    let id = new_id();
    tx.execute(
        "INSERT INTO endpoints (id, partner_id, url, description, schema_version, signing_scheme)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id,
            &new.partner_id,
            &new.url,
            &new.description,
            &new.schema_version.as_str(),
            &scheme.as_str(),
        ],
    )
    .await
    .map_err(
        |e| match (e.code(), e.as_db_error().and_then(|d| d.constraint())) {
            (Some(c), _) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
                StoreError::UnknownPartner(new.partner_id.to_owned())
            }
            (_, Some("endpoints_per_partner_limit")) => {
                StoreError::EndpointLimit(new.partner_id.to_owned())
            }
            _ => StoreError::Db(e),
        },
    )?;
    set_event_types(tx, &id, new.event_types).await?;
    let secret = SigningSecret::generate_for(scheme);
    tx.execute(
        "INSERT INTO endpoint_secrets (endpoint_id, secret) VALUES ($1, $2)",
        &[&id, &secret.as_str()],
    )
    .await?;
    let endpoint = get(tx, &id)
        .await?
        .ok_or_else(|| StoreError::UnknownEndpoint(id.clone()))?;
    Ok((endpoint, secret))
}

/// Replaces the event types routed to an endpoint.
pub async fn set_event_types(
    tx: &impl GenericClient,
    id: &str,
    types: &[EventType],
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM endpoint_event_types WHERE endpoint_id = $1",
        &[&id],
    )
    .await?;
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    tx.execute(
        "INSERT INTO endpoint_event_types (endpoint_id, event_type)
         SELECT $1, t FROM unnest($2::text[]) AS t ON CONFLICT DO NOTHING",
        &[&id, &names],
    )
    .await?;
    Ok(())
}

/// One endpoint, whatever its state.
pub async fn get(client: &impl GenericClient, id: &str) -> Result<Option<Endpoint>, StoreError> {
    let sql = format!("{SELECT} WHERE e.id = $1");
    client
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A partner's endpoints, oldest first.
pub async fn list_for_partner(
    client: &impl GenericClient,
    partner_id: &str,
) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!("{SELECT} WHERE e.partner_id = $1 ORDER BY e.created_at, e.id");
    let rows = client.query(&sql, &[&partner_id]).await?;
    rows.iter().map(from_row).collect()
}

/// Every endpoint that should be receiving deliveries: enabled, of an active
/// partner. This is what the router starts actors for.
pub async fn list_active(client: &impl GenericClient) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!(
        "{SELECT} JOIN partners p ON p.id = e.partner_id
         WHERE e.enabled AND p.status = 'active' ORDER BY e.id"
    );
    let rows = client.query(&sql, &[]).await?;
    rows.iter().map(from_row).collect()
}

/// One endpoint if it should be receiving deliveries.
pub async fn get_active(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<Endpoint>, StoreError> {
    let sql = format!(
        "{SELECT} JOIN partners p ON p.id = e.partner_id
         WHERE e.id = $1 AND e.enabled AND p.status = 'active'"
    );
    client
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// One of a partner's endpoints; `None` when it does not exist or belongs to
/// another partner, which callers must not be able to tell apart.
pub async fn get_for_partner(
    client: &impl GenericClient,
    partner_id: &str,
    id: &str,
) -> Result<Option<Endpoint>, StoreError> {
    let sql = format!("{SELECT} WHERE e.id = $1 AND e.partner_id = $2");
    client
        .query_opt(&sql, &[&id, &partner_id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every endpoint of every partner, by partner then age.
pub async fn list_all(client: &impl GenericClient) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!("{SELECT} ORDER BY e.partner_id, e.created_at, e.id");
    let rows = client.query(&sql, &[]).await?;
    rows.iter().map(from_row).collect()
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges<'a> {
    /// A URL already validated by [`crate::endpoint_url::EndpointUrl::parse`].
    pub url: Option<&'a str>,
    /// Free text.
    pub description: Option<&'a str>,
    /// Receive new deliveries or not.
    pub enabled: Option<bool>,
    /// Replaces the event types.
    pub event_types: Option<&'a [EventType]>,
    /// Moves the endpoint to another payload version.
    pub schema_version: Option<SchemaVersion>,
    /// Sets (`Some(Some(..))`) or removes (`Some(None)`) the rate limit.
    pub rate_limit: Option<Option<RateLimit>>,
}

/// Applies `changes` to one of a partner's endpoints, in the caller's
/// transaction. `None` when the partner has no such endpoint.
pub async fn update(
    tx: &impl GenericClient,
    partner_id: &str,
    id: &str,
    changes: &EndpointChanges<'_>,
) -> Result<Option<Endpoint>, StoreError> {
    let was_enabled: Option<bool> = tx
        .query_opt(
            "SELECT enabled FROM endpoints WHERE id = $1 AND partner_id = $2 FOR UPDATE",
            &[&id, &partner_id],
        )
        .await?
        .map(|row| row.get(0));
    let Some(was_enabled) = was_enabled else {
        return Ok(None);
    };
    let limit = changes.rate_limit.flatten();
    // Any change of `enabled` by the partner ends what trackwire recorded
    // about its own disabling.
    let n = tx
        .execute(
            "UPDATE endpoints
             SET url = COALESCE($3, url), description = COALESCE($4, description),
                 enabled = COALESCE($5, enabled),
                 disabled_reason = CASE WHEN $5::boolean IS NULL THEN disabled_reason END,
                 disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at END,
                 schema_version = COALESCE($6, schema_version),
                 rate_limit_per_second = CASE WHEN $7 THEN $8 ELSE rate_limit_per_second END,
                 rate_limit_burst = CASE WHEN $7 THEN $9 ELSE rate_limit_burst END,
                 updated_at = now()
             WHERE id = $1 AND partner_id = $2",
            &[
                &id,
                &partner_id,
                &changes.url,
                &changes.description,
                &changes.enabled,
                &changes.schema_version.map(SchemaVersion::as_str),
                &changes.rate_limit.is_some(),
                &limit.map(|l| l.per_second as i32),
                &limit.map(|l| l.burst as i32),
            ],
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if let Some(types) = changes.event_types {
        set_event_types(tx, id, types).await?;
    }
    match changes.enabled {
        Some(true) if !was_enabled => {
            record_enabling(tx, id, "disabled", "enabled", "enabled by the partner").await?
        }
        Some(false) if was_enabled => {
            record_enabling(tx, id, "enabled", "disabled", "disabled by the partner").await?
        }
        _ => {}
    }
    get(tx, id).await
}

/// Disables an enabled endpoint because of how it answered (`410 Gone`), and
/// records the transition. Returns false when it was already disabled or is
/// gone, so a burst of such answers is recorded once.
pub async fn disable_for_answer(
    client: &impl GenericClient,
    id: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let n = client
        .execute(
            "WITH disabled AS (
                 UPDATE endpoints
                 SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now()
                 WHERE id = $1 AND enabled
                 RETURNING id
             )
             INSERT INTO endpoint_transitions (endpoint_id, kind, from_state, to_state, reason)
             SELECT id, 'enabled', 'enabled', 'disabled', $2 FROM disabled",
            &[&id, &reason],
        )
        .await?;
    Ok(n == 1)
}

async fn record_enabling(
    tx: &impl GenericClient,
    id: &str,
    from: &str,
    to: &str,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO endpoint_transitions (endpoint_id, kind, from_state, to_state, reason)
         VALUES ($1, 'enabled', $2, $3, $4)",
        &[&id, &from, &to, &reason],
    )
    .await?;
    Ok(())
}

/// Deletes one of a partner's endpoints. Its deliveries and attempts stay in
/// the log as history (those still waiting are closed as dead), kept with
/// the endpoint's URL and version in `deleted_endpoints` until their events
/// are removed. Returns false when the partner has no such endpoint.
pub async fn delete(
    client: &impl GenericClient,
    partner_id: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let n = client
        .execute(
            "DELETE FROM endpoints WHERE id = $1 AND partner_id = $2",
            &[&id, &partner_id],
        )
        .await?;
    Ok(n == 1)
}

/// Starts a secret rotation, in the caller's transaction: every current
/// secret now expires after `grace` (and keeps signing until then, so that
/// receivers can switch without dropping a request), and a new secret signs
/// from now on. Returns the new secret, or `None` when the partner has no
/// such endpoint.
pub async fn rotate_secret(
    tx: &impl GenericClient,
    partner_id: &str,
    id: &str,
    grace: std::time::Duration,
) -> Result<Option<SigningSecret>, StoreError> {
    let scheme: Option<String> = tx
        .query_opt(
            "UPDATE endpoints SET updated_at = now() WHERE id = $1 AND partner_id = $2
             RETURNING signing_scheme",
            &[&id, &partner_id],
        )
        .await?
        .map(|row| row.get(0));
    let Some(scheme) = scheme else {
        return Ok(None);
    };
    let scheme = SigningScheme::from_str(&scheme).map_err(|e| StoreError::Corrupt {
        table: "endpoints",
        message: e.to_string(),
    })?;
    let grace_secs = grace.as_secs_f64();
    tx.execute(
        "UPDATE endpoint_secrets SET expires_at = now() + make_interval(secs => $2)
         WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now() + make_interval(secs => $2))",
        &[&id, &grace_secs],
    )
    .await?;
    // The new key is of the endpoint's scheme, so receivers keep one way of
    // verifying through a rotation.
    let secret = SigningSecret::generate_for(scheme);
    tx.execute(
        "INSERT INTO endpoint_secrets (endpoint_id, secret) VALUES ($1, $2)",
        &[&id, &secret.as_str()],
    )
    .await?;
    Ok(Some(secret))
}
