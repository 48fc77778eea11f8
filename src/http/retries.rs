//! Manual retries.
//!
//! - `POST /deliveries/{id}/retry`: one delivery.
//! - `POST /deliveries/retry`: every failed or dead delivery matching a filter.
//!
//! The store is updated first (pending, due now, flagged manual), then the
//! router is told so the endpoint's actor pages the work in at once; if the
//! message is lost the work is still in the store and is found at the
//! actor's next catch-up.

use std::collections::BTreeSet;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Partner;
use super::body::Json;
use super::events::{event_type, time};
use super::problem::Problem;
use super::AppState;
use crate::actors::router::Retry;
use crate::store::retries::{self, RetryFilter, RetryOne};
use crate::store::{endpoints, event_log};

/// Mounts the routes (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deliveries/retry", web::post().to(retry_matching))
        .route("/deliveries/{id}/retry", web::post().to(retry_one));
}

/// Which deliveries to retry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryFilterIn {
    /// `failed` (default: retrying or dead), `dead` or `retrying`.
    pub status: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Only deliveries to this endpoint.
    pub endpoint_id: Option<String>,
    /// RFC 3339; events that occurred at or after.
    pub from: Option<String>,
    /// RFC 3339; events that occurred before.
    pub to: Option<String>,
}

/// Tells the router that these endpoints have work due now.
pub(crate) fn notify(state: &AppState, endpoint_ids: impl IntoIterator<Item = String>) {
    for endpoint_id in endpoint_ids {
        state.router.do_send(Retry { endpoint_id });
    }
}

async fn retry_one(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    // A malformed id names no delivery: 404, like any unknown one.
    let delivery_id: i64 = id
        .parse()
        .map_err(|_| Problem::not_found("delivery", id.as_str()))?;
    let client = state.pool.get().await?;
    match retries::retry_one(&**client, &caller.id, delivery_id).await? {
        RetryOne::NotFound => Err(Problem::not_found("delivery", id.as_str())),
        RetryOne::AlreadyDelivered => Err(Problem::Conflict(format!(
            "delivery {delivery_id} was acknowledged already"
        ))),
        RetryOne::EndpointDisabled { endpoint_id } => Err(disabled(&endpoint_id)),
        RetryOne::Queued { endpoint_id } => {
            notify(&state, [endpoint_id]);
            Ok(HttpResponse::Accepted().json(serde_json::json!({
                "delivery_id": delivery_id,
                "status": "pending",
            })))
        }
    }
}

async fn retry_matching(
    caller: Partner,
    state: web::Data<AppState>,
    Json(body): Json<RetryFilterIn>,
) -> Result<HttpResponse, Problem> {
    let statuses: &[&str] = match body.status.as_deref().unwrap_or("failed") {
        s @ ("failed" | "dead" | "retrying") => event_log::statuses_of(s).unwrap_or(&[]),
        _ => {
            return Err(Problem::invalid(
                "status",
                "one of failed, dead, retrying (delivered ones are not retried)",
            ))
        }
    };
    let filter = RetryFilter {
        statuses,
        event_type: event_type(body.event_type.as_deref())?,
        endpoint_id: body.endpoint_id.as_deref(),
        from: time("from", body.from.as_deref())?,
        to: time("to", body.to.as_deref())?,
    };
    let client = state.pool.get().await?;
    if let Some(id) = filter.endpoint_id {
        let endpoint = endpoints::get_for_partner(&**client, &caller.id, id)
            .await?
            .ok_or_else(|| Problem::not_found("endpoint", id))?;
        if !endpoint.enabled {
            return Err(disabled(id));
        }
    }
    let queued = retries::retry_matching(&**client, &caller.id, &filter).await?;
    let skipped = retries::count_matching_disabled(&**client, &caller.id, &filter).await?;
    let count = queued.len();
    let endpoints: BTreeSet<String> = queued.into_iter().collect();
    notify(&state, endpoints);
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "queued": count,
        "skipped_endpoint_disabled": skipped,
    })))
}

/// A retry its endpoint would never send.
pub(crate) fn disabled(endpoint_id: &str) -> Problem {
    Problem::Conflict(format!(
        "endpoint {endpoint_id} is disabled, so it sends nothing; enable it (PATCH /endpoints/{endpoint_id} with \"enabled\": true), then retry"
    ))
}
