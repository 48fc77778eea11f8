//! The endpoint form: what it holds (kept whole on a validation error), how
//! it is drawn, and how its values are checked and written. The checks are
//! the API's own functions, so the two cannot disagree.

use actix_web::http::StatusCode;

use crate::endpoint_url::EndpointUrl;
use crate::http::endpoints::{
    description, event_types, rate_limit as checked_rate_limit, schema_version, signing_scheme,
    url, RateLimitIn,
};
use crate::http::portal::error::PortalError;
use crate::http::portal::html::Esc;
use crate::http::portal::session::FormData;
use crate::http::problem::Problem;
use crate::http::AppState;
use crate::schema::{EventType, Lifecycle, SchemaVersion};
use crate::store::endpoints::{self as store, Endpoint, EndpointChanges, NewEndpoint};
use crate::webhook::{SigningScheme, SigningSecret};

/// What an endpoint form holds (kept on a validation error, so nothing typed
/// is lost).
#[derive(Debug, Clone, Default)]
pub(super) struct Values {
    pub(super) url: String,
    pub(super) description: String,
    pub(super) types: Vec<String>,
    pub(super) schema_version: String,
    pub(super) enabled: bool,
    /// Read on creation only: the scheme is fixed for the endpoint's life.
    pub(super) signing_scheme: String,
    /// Edit form only; empty for no limit.
    pub(super) rate_per_second: String,
    pub(super) rate_burst: String,
}

impl Values {
    pub(super) fn from_form(form: &FormData) -> Self {
        Values {
            url: form.get("url").to_owned(),
            description: form.get("description").to_owned(),
            types: form.all("event_types"),
            schema_version: form.get("schema_version").to_owned(),
            enabled: form.checked("enabled"),
            signing_scheme: form.get("signing_scheme").to_owned(),
            rate_per_second: form.get("rate_limit_per_second").trim().to_owned(),
            rate_burst: form.get("rate_limit_burst").trim().to_owned(),
        }
    }

    pub(super) fn of(e: &Endpoint) -> Self {
        Values {
            url: e.url.clone(),
            description: e.description.clone(),
            types: e
                .event_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            schema_version: e.schema_version.as_str().to_owned(),
            enabled: e.enabled,
            signing_scheme: e.signing_scheme.as_str().to_owned(),
            rate_per_second: e
                .rate_limit
                .map(|l| l.per_second.to_string())
                .unwrap_or_default(),
            rate_burst: e
                .rate_limit
                .map(|l| l.burst.to_string())
                .unwrap_or_default(),
        }
    }

    /// A new endpoint's form: every event type ticked, the version a new
    /// endpoint gets.
    pub(super) fn fresh() -> Self {
        Values {
            types: EventType::ALL
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            schema_version: SchemaVersion::default().as_str().to_owned(),
            enabled: true,
            ..Values::default()
        }
    }
}

/// The fields of the add and edit forms.
pub(super) fn fields(v: &Values, new: bool, lifecycle: &Lifecycle) -> String {
    let mut checks = String::new();
    for t in EventType::ALL {
        let name = t.as_str();
        let checked = if v.types.iter().any(|x| x == name) {
            " checked"
        } else {
            ""
        };
        checks.push_str(&format!(
            r#"<label><input type="checkbox" name="event_types" value="{name}"{checked}> {name}</label>"#
        ));
    }
    let enabled = if new {
        scheme_choice(&v.signing_scheme)
    } else {
        let checked = if v.enabled { " checked" } else { "" };
        format!(
            r#"<label>Rate limit <span class="muted small">(optional: attempts a second, and how many may go at once)</span></label>
<div class="checks"><input type="number" id="rate_limit_per_second" name="rate_limit_per_second" min="1" max="10000" value="{}" placeholder="per second">
<input type="number" id="rate_limit_burst" name="rate_limit_burst" min="1" max="10000" value="{}" placeholder="burst"></div>
<p class="muted small">Deliveries beyond it wait in order and are sent as the limit allows; empty for no limit.</p>
<div class="checks"><label><input type="checkbox" name="enabled" value="1"{checked}> Enabled: receives deliveries</label></div>"#,
            Esc(&v.rate_per_second),
            Esc(&v.rate_burst),
        )
    };
    let hint = if new {
        ""
    } else {
        r#"<p class="muted small">A new version applies from the next attempt on, to pending deliveries too; check the webhook-schema-version header to accept both while you switch.</p>"#
    };
    format!(
        r#"<label for="url">URL</label>
<input type="url" id="url" name="url" value="{}" placeholder="https://example.com/webhooks/trackwire" required>
<label for="description">Description <span class="muted small">(optional)</span></label>
<input type="text" id="description" name="description" value="{}" maxlength="500">
<label>Event types</label><div class="checks">{checks}</div>
<label for="schema_version">Payload schema</label><select id="schema_version" name="schema_version">{}</select>{hint}
{enabled}"#,
        Esc(&v.url),
        Esc(&v.description),
        version_options(&v.schema_version, lifecycle),
    )
}

/// The signing scheme of a new endpoint, HMAC preselected.
fn scheme_choice(selected: &str) -> String {
    let options: String = SigningScheme::ALL
        .iter()
        .map(|scheme| {
            let name = scheme.as_str();
            let on = if name == selected || (selected.is_empty() && *scheme == SigningScheme::Hmac)
            {
                " selected"
            } else {
                ""
            };
            let label = match scheme {
                SigningScheme::Hmac => "HMAC-SHA256 with a shared secret (v1)",
                SigningScheme::Ed25519 => "ed25519 with a public key (v1a)",
            };
            format!(r#"<option value="{name}"{on}>{label}</option>"#)
        })
        .collect();
    format!(
        r#"<label for="signing_scheme">Signatures</label><select id="signing_scheme" name="signing_scheme">{options}</select>
<p class="muted small">Fixed for the endpoint's life. With ed25519 your receiver verifies with a public key, which is not a secret and stays on the endpoint's page.</p>"#
    )
}

/// One option per served version, newest first, `selected` the current one;
/// deprecated versions say until when they are served.
fn version_options(selected: &str, lifecycle: &Lifecycle) -> String {
    SchemaVersion::ALL
        .iter()
        .rev()
        .map(|&version| {
            let name = version.as_str();
            let note = match lifecycle.deprecation(version) {
                Some(d) => format!(
                    " (deprecated, served until {})",
                    d.sunset_at.format("%Y-%m-%d")
                ),
                None if version == SchemaVersion::LATEST => " (newest)".to_owned(),
                None => String::new(),
            };
            let mark = if selected == name { " selected" } else { "" };
            format!(r#"<option value="{name}"{mark}>{name}{note}</option>"#)
        })
        .collect()
}

/// Whether a failure is the user's to fix on the form it came from.
pub(super) fn form_error(e: &PortalError) -> Option<String> {
    match e {
        PortalError::Problem(
            p @ (Problem::InvalidField { .. } | Problem::EndpointLimit { .. }),
        ) => Some(p.to_string()),
        _ => None,
    }
}

pub(super) fn status_of(e: &PortalError) -> StatusCode {
    actix_web::ResponseError::status_code(e)
}

/// The version picked on the form; `None` when the form sent none.
fn chosen_version(raw: &str) -> Result<Option<SchemaVersion>, Problem> {
    match raw {
        "" => Ok(None),
        raw => schema_version(raw).map(Some),
    }
}

/// The edit form's rate limit, checked as the API checks it.
fn rate_limit(v: &Values) -> Result<Option<crate::store::endpoints::RateLimit>, Problem> {
    if v.rate_per_second.is_empty() {
        return Ok(None);
    }
    let number = |field: &str, raw: &str| {
        raw.parse::<i64>()
            .map_err(|_| Problem::invalid(field, format!("{raw:?} is not a whole number")))
    };
    let per_second = number("rate_limit.per_second", &v.rate_per_second)?;
    let burst = match v.rate_burst.as_str() {
        "" => None,
        raw => Some(number("rate_limit.burst", raw)?),
    };
    checked_rate_limit(RateLimitIn { per_second, burst }).map(Some)
}

pub(super) async fn insert(
    state: &AppState,
    partner: &str,
    v: &Values,
) -> Result<(Endpoint, SigningSecret), PortalError> {
    let url: EndpointUrl = url(state, &v.url)?;
    let types = event_types("event_types", &v.types)?;
    let description = description(&v.description)?;
    let schema_version = chosen_version(&v.schema_version)?.unwrap_or_default();
    let scheme = signing_scheme(Some(v.signing_scheme.as_str()).filter(|s| !s.is_empty()))?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let created = store::insert_signed(
        &*tx,
        &NewEndpoint {
            partner_id: partner,
            url: url.as_str(),
            description,
            event_types: &types,
            schema_version,
        },
        scheme,
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub(super) async fn apply(
    state: &AppState,
    partner: &str,
    id: &str,
    v: &Values,
) -> Result<(), PortalError> {
    let url = url(state, &v.url)?;
    let types = event_types("event_types", &v.types)?;
    let description = description(&v.description)?;
    let changes = EndpointChanges {
        url: Some(url.as_str()),
        description: Some(description),
        enabled: Some(v.enabled),
        event_types: Some(&types),
        schema_version: chosen_version(&v.schema_version)?,
        rate_limit: Some(rate_limit(v)?),
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    store::update(&*tx, partner, id, &changes)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", id))?;
    tx.commit().await?;
    Ok(())
}
