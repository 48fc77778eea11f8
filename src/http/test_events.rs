//! `POST /endpoints/{id}/test`: sends a synthetic event of a chosen type to
//! one endpoint now and answers with what the endpoint answered.
//!
//! The request is made here, not by the endpoint's actor, so the caller gets
//! the answer in the same response and a disabled endpoint can be tested
//! before it goes live. It is signed like any delivery and recorded like one:
//! a test event (`is_test: true`) with a delivery and a manual attempt, so it
//! shows in the event log.

use std::str::FromStr;

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::auth::Partner;
use super::body::Json;
use super::problem::Problem;
use super::AppState;
use crate::actors::endpoint::{attempt_record, Envelope};
use crate::schema::{self, EventType};
use crate::store::deliveries::Trigger;
use crate::store::{endpoints, retries};

/// Mounts the route (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/endpoints/{id}/test", web::post().to(send));
}

/// Which test event to send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestEventIn {
    /// One of the six types; the endpoint's first type when absent.
    pub event_type: Option<String>,
}

/// What the endpoint answered.
#[derive(Debug, Serialize)]
pub struct TestEventOut {
    /// The test event's id (also `webhook-id`).
    pub event_id: String,
    /// Its delivery, in the event log.
    pub delivery_id: i64,
    /// True for a 2xx within the timeout.
    pub acknowledged: bool,
    /// The status, when an answer arrived.
    pub status: Option<u16>,
    /// The answer's headers.
    pub headers: Vec<(String, String)>,
    /// The start of the answer's body.
    pub body_excerpt: Option<String>,
    /// Until the answer or the failure.
    pub latency_ms: u64,
    /// Why it is not an acknowledgement.
    pub error: Option<String>,
    /// The payload sent.
    pub payload: serde_json::Value,
}

async fn send(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Json(body): Json<TestEventIn>,
) -> Result<HttpResponse, Problem> {
    let out = fire(&state, &caller.id, &id, body.event_type.as_deref()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Sends a test event of `event_type` (the endpoint's first type when
/// `None`) to one of `partner_id`'s endpoints, records it, and returns what
/// the endpoint answered. Shared by the API and the portal.
pub async fn fire(
    state: &AppState,
    partner_id: &str,
    endpoint_id: &str,
    event_type: Option<&str>,
) -> Result<TestEventOut, Problem> {
    let mut client = state.pool.get().await?;
    let endpoint = endpoints::get_for_partner(&**client, partner_id, endpoint_id)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", endpoint_id))?;
    let event_type = match event_type {
        Some(name) => {
            EventType::from_str(name).map_err(|e| Problem::invalid("event_type", e.to_string()))?
        }
        None => endpoint
            .event_types
            .first()
            .copied()
            .unwrap_or(EventType::OrderConfirmed),
    };
    let event = state
        .api
        .test_events
        .test_event(event_type, partner_id, chrono::Utc::now());
    let payload = schema::render(&event, endpoint.schema_version);
    let envelope = Envelope {
        event_id: &event.event_id,
        event_type,
        schema_version: endpoint.schema_version,
        deprecation: state.api.lifecycle.deprecation(endpoint.schema_version),
        secrets: &endpoint.secrets,
    };
    let result = state
        .api
        .webhook
        .post(&endpoint.url, &envelope, Bytes::from(payload.clone()))
        .await;
    let record = attempt_record(1, Trigger::Manual, &result, state.api.excerpt_bytes);
    let tx = client.transaction().await?;
    let delivery_id = retries::record_test_event(&*tx, &event, &endpoint.id, record).await?;
    tx.commit().await?;
    Ok(TestEventOut {
        event_id: event.event_id,
        delivery_id,
        acknowledged: result.acked(),
        status: result.status,
        headers: result.headers,
        body_excerpt: result.excerpt,
        latency_ms: u64::try_from(result.latency.as_millis()).unwrap_or(u64::MAX),
        error: result.failure.map(|f| f.to_string()),
        payload: serde_json::from_slice(&payload).unwrap_or_default(),
    })
}
