//! Partner routes for endpoints, and the operators' view of all of them.
//!
//! - `GET /endpoints`, `POST /endpoints`
//! - `GET /endpoints/{id}`, `PATCH /endpoints/{id}`, `DELETE /endpoints/{id}`
//! - `POST /endpoints/{id}/rotate-secret`
//! - `GET /admin/endpoints` (operators)
//!
//! Routing picks changes up through the store's change notifications, so
//! nothing here talks to the router.

use std::str::FromStr;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::{Operator, Partner};
use super::body::Json;
use super::endpoint_health::HealthOut;
use super::problem::Problem;
use super::query::{whole_number, Query};
use super::AppState;
use crate::endpoint_url::EndpointUrl;
use crate::schema::{EventType, SchemaVersion};
use crate::store::endpoints::{self, Endpoint, EndpointChanges, NewEndpoint, RateLimit};
use crate::store::health;
use crate::webhook::SigningScheme;

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 500;
/// Grace period of the old secret when none is given: a day, time enough
/// for a receiver deployed once a day.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);
/// Longest grace period: a week.
const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Mounts the routes (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/endpoints", web::get().to(list))
        .route("/endpoints", web::post().to(create))
        .route("/endpoints/{id}", web::get().to(get))
        .route("/endpoints/{id}", web::patch().to(update))
        .route("/endpoints/{id}", web::delete().to(delete))
        .route("/endpoints/{id}/rotate-secret", web::post().to(rotate))
        .route("/admin/endpoints", web::get().to(list_all));
}

/// A new endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    /// Where to POST events: https (see `delivery.allow_insecure_hosts`).
    pub url: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Event types to receive; at least one.
    pub event_types: Vec<String>,
    /// Payload version; the newest served ([`SchemaVersion::default`]) when
    /// absent.
    pub schema_version: Option<String>,
    /// Receive deliveries (default true).
    pub enabled: Option<bool>,
    /// `hmac` (the default: `v1` signatures with a `whsec_` secret) or
    /// `ed25519` (`v1a` signatures, verified with the `whpk_` public key).
    /// Fixed for the endpoint's life.
    pub signing_scheme: Option<String>,
    /// A limit on how fast this endpoint is sent to (none by default).
    pub rate_limit: Option<RateLimitIn>,
}

/// A rate limit as sent: attempts a second, and how many may go at once
/// after a quiet spell (default: `per_second`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitIn {
    /// 1..=10,000.
    pub per_second: i64,
    /// 1..=10,000.
    pub burst: Option<i64>,
}

/// Most attempts a second a limit may allow; above it, a limit limits
/// nothing the process-wide ones do not.
const MAX_RATE: i64 = 10_000;

/// Changes to an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchIn {
    /// New URL.
    pub url: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New event types (replaces the set).
    pub event_types: Option<Vec<String>>,
    /// Move to another payload version: from the next attempt on, every
    /// delivery (pending ones included) is rendered in it.
    pub schema_version: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// A new rate limit; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    pub rate_limit: Option<Option<RateLimitIn>>,
}

/// Tells a `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Checks a rate limit, naming the bad field.
pub(crate) fn rate_limit(raw: RateLimitIn) -> Result<RateLimit, Problem> {
    let check = |field: &str, n: i64| {
        u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_RATE as u32).contains(n))
            .ok_or_else(|| {
                Problem::invalid(field, format!("must be between 1 and {MAX_RATE}, got {n}"))
            })
    };
    Ok(RateLimit {
        per_second: check("rate_limit.per_second", raw.per_second)?,
        burst: check("rate_limit.burst", raw.burst.unwrap_or(raw.per_second))?,
    })
}

/// A secret rotation (query parameters, kept as strings so that a bad value
/// gets an error naming its parameter).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    /// How long the old secret keeps signing, in seconds (default a day,
    /// at most a week; 0 ends it now).
    pub grace_period_secs: Option<String>,
}

/// An endpoint. Secrets are never listed.
#[derive(Debug, Serialize)]
pub struct EndpointOut {
    /// Id.
    pub id: String,
    /// Owner.
    pub partner_id: String,
    /// Where events go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Receiving deliveries.
    pub enabled: bool,
    /// Why trackwire disabled it (a `410 Gone`), until it is enabled again.
    pub disabled_reason: Option<String>,
    /// When trackwire disabled it.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Pinned payload version.
    pub schema_version: &'static str,
    /// Event types received.
    pub event_types: Vec<&'static str>,
    /// The rate limit; `null` when there is none.
    pub rate_limit: Option<RateLimitIn>,
    /// `hmac` or `ed25519`.
    pub signing_scheme: &'static str,
    /// Secrets currently signing (more than one during a rotation).
    pub active_secrets: usize,
    /// For `ed25519`: the `whpk_` public keys of the active keys, newest
    /// first, to verify `v1a` signatures with. Empty for `hmac`.
    pub public_keys: Vec<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for EndpointOut {
    fn from(mut e: Endpoint) -> Self {
        // Lifecycle order reads better than the store's alphabetical one.
        e.event_types.sort();
        EndpointOut {
            id: e.id,
            partner_id: e.partner_id,
            url: e.url,
            description: e.description,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            disabled_at: e.disabled_at,
            schema_version: e.schema_version.as_str(),
            event_types: e.event_types.iter().map(|t| t.as_str()).collect(),
            rate_limit: e.rate_limit.map(|l| RateLimitIn {
                per_second: l.per_second.into(),
                burst: Some(l.burst.into()),
            }),
            signing_scheme: e.signing_scheme.as_str(),
            active_secrets: e.secrets.len(),
            public_keys: public_keys(&e.secrets),
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint just created, with its signing secret (shown this once).
#[derive(Debug, Serialize)]
pub struct EndpointCreatedOut {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    /// `whsec_...`, to verify signatures with (shown this once); absent for
    /// `ed25519`, whose requests are verified with `public_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The `whpk_` public keys of `secrets`, in their order.
pub(crate) fn public_keys(secrets: &[crate::webhook::SigningSecret]) -> Vec<String> {
    secrets
        .iter()
        .filter_map(|s| s.public_key().map(str::to_owned))
        .collect()
}

/// Parses a signing scheme, naming the field.
pub(crate) fn signing_scheme(raw: Option<&str>) -> Result<SigningScheme, Problem> {
    raw.map(|s| {
        SigningScheme::from_str(s).map_err(|e| Problem::invalid("signing_scheme", e.to_string()))
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

/// The secret to show once at creation or rotation: only an HMAC secret,
/// since an ed25519 key never leaves trackwire (its public key is shown).
pub(crate) fn shown_secret(secret: &crate::webhook::SigningSecret) -> Option<String> {
    (secret.scheme() == SigningScheme::Hmac).then(|| secret.as_str().to_owned())
}

/// Parses event type names, naming the bad entry.
pub(crate) fn event_types(field: &str, names: &[String]) -> Result<Vec<EventType>, Problem> {
    if names.is_empty() {
        return Err(Problem::invalid(field, "list at least one event type"));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            EventType::from_str(name)
                .map_err(|e| Problem::invalid(format!("{field}[{i}]"), e.to_string()))
        })
        .collect()
}

pub(crate) fn url(state: &AppState, raw: &str) -> Result<EndpointUrl, Problem> {
    EndpointUrl::parse(raw, &state.api.allow_insecure_hosts)
        .map_err(|e| Problem::invalid("url", e.to_string()))
}

/// Parses a payload version, naming the field.
pub(crate) fn schema_version(raw: &str) -> Result<SchemaVersion, Problem> {
    SchemaVersion::from_str(raw).map_err(|e| Problem::invalid("schema_version", e.to_string()))
}

pub(crate) fn description(text: &str) -> Result<&str, Problem> {
    if text.contains('\0') {
        return Err(Problem::invalid("description", super::body::NUL_MESSAGE));
    }
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(Problem::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(text.trim())
}

async fn list(caller: Partner, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let items: Vec<EndpointOut> = endpoints::list_for_partner(&**client, &caller.id)
        .await?
        .into_iter()
        .map(EndpointOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// An endpoint as operators see it: with its health, so that at-risk
/// integrations stand out.
#[derive(Debug, Serialize)]
pub struct AdminEndpointOut {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    /// ACK rate, breaker, at-risk flag.
    pub health: HealthOut,
}

async fn list_all(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let mut health = health::list(&**client, None).await?;
    let items: Vec<AdminEndpointOut> = endpoints::list_all(&**client)
        .await?
        .into_iter()
        .map(|e| AdminEndpointOut {
            health: health
                .remove(&e.id)
                .map_or_else(HealthOut::unknown, HealthOut::from),
            endpoint: EndpointOut::from(e),
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn create(
    caller: Partner,
    state: web::Data<AppState>,
    Json(body): Json<EndpointIn>,
) -> Result<HttpResponse, Problem> {
    let url = url(&state, &body.url)?;
    let types = event_types("event_types", &body.event_types)?;
    let description = description(&body.description)?;
    let schema_version = body
        .schema_version
        .as_deref()
        .map(schema_version)
        .transpose()?
        .unwrap_or_default();
    let scheme = signing_scheme(body.signing_scheme.as_deref())?;
    let limit = body.rate_limit.map(rate_limit).transpose()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let (mut endpoint, secret) = endpoints::insert_signed(
        &*tx,
        &NewEndpoint {
            partner_id: &caller.id,
            url: url.as_str(),
            description,
            event_types: &types,
            schema_version,
        },
        scheme,
    )
    .await?;
    if body.enabled == Some(false) || limit.is_some() {
        let changes = EndpointChanges {
            enabled: body.enabled.filter(|e| !e),
            rate_limit: limit.map(Some),
            ..Default::default()
        };
        endpoint = endpoints::update(&*tx, &caller.id, &endpoint.id, &changes)
            .await?
            .ok_or_else(|| Problem::internal("endpoint vanished inside its transaction"))?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Created().json(EndpointCreatedOut {
        endpoint: endpoint.into(),
        secret: shown_secret(&secret),
    }))
}

async fn get(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let endpoint = endpoints::get_for_partner(&**client, &caller.id, &id)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", id.as_str()))?;
    Ok(HttpResponse::Ok().json(EndpointOut::from(endpoint)))
}

async fn update(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Json(body): Json<EndpointPatchIn>,
) -> Result<HttpResponse, Problem> {
    let url = body.url.as_deref().map(|u| url(&state, u)).transpose()?;
    let types = body
        .event_types
        .as_deref()
        .map(|t| event_types("event_types", t))
        .transpose()?;
    let description = body.description.as_deref().map(description).transpose()?;
    let changes = EndpointChanges {
        url: url.as_ref().map(EndpointUrl::as_str),
        description,
        enabled: body.enabled,
        event_types: types.as_deref(),
        schema_version: body
            .schema_version
            .as_deref()
            .map(schema_version)
            .transpose()?,
        rate_limit: body
            .rate_limit
            .map(|l| l.map(rate_limit).transpose())
            .transpose()?,
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let endpoint = endpoints::update(&*tx, &caller.id, &id, &changes)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", id.as_str()))?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(EndpointOut::from(endpoint)))
}

async fn delete(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    if !endpoints::delete(&**client, &caller.id, &id).await? {
        return Err(Problem::not_found("endpoint", id.as_str()));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Takes the grace period from the query, so that a bare POST rotates.
async fn rotate(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Query(params): Query<RotateIn>,
) -> Result<HttpResponse, Problem> {
    let secs = whole_number(
        "grace_period_secs",
        params.grace_period_secs.as_deref(),
        0..=MAX_GRACE.as_secs() as i64,
        DEFAULT_GRACE.as_secs() as i64,
    )?;
    let grace = Duration::from_secs(secs.unsigned_abs());
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let secret = endpoints::rotate_secret(&*tx, &caller.id, &id, grace)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", id.as_str()))?;
    tx.commit().await?;
    let old_expires_at = Utc::now() + chrono::Duration::from_std(grace).unwrap_or_default();
    let mut out = serde_json::json!({ "previous_secrets_expire_at": old_expires_at });
    match (shown_secret(&secret), secret.public_key()) {
        (Some(shown), _) => out["secret"] = shown.into(),
        (None, Some(public)) => out["public_key"] = public.into(),
        (None, None) => {}
    }
    Ok(HttpResponse::Ok().json(out))
}
