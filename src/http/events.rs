//! The partner's event log.
//!
//! - `GET /events?event_type=&status=&from=&to=&offset=&limit=`: matching
//!   events newest first, paginated through the newest 500; `total` counts
//!   every match.
//! - `GET /events/{id}`: payload, deliveries per endpoint, every attempt.

use std::str::FromStr;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Partner;
use super::problem::Problem;
use super::query::{whole_number, Query};
use super::AppState;
use crate::schema::{self, EventType, SchemaVersion};
use crate::store::event_log::{self, AttemptRow, DeliveryRow, EventRow, LogFilter};

/// Page size when none is asked for.
const DEFAULT_LIMIT: i64 = 50;
/// Largest page.
const MAX_LIMIT: i64 = 200;

/// Mounts the routes (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(list))
        .route("/events/{id}", web::get().to(detail));
}

/// Filters and paging of the log, as query parameters. Kept as strings so
/// that a bad value gets an error naming its parameter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQueryIn {
    /// One of the six event types.
    pub event_type: Option<String>,
    /// `delivered`, `failed` (retrying or dead), `retrying`, `dead`, `pending`.
    pub status: Option<String>,
    /// RFC 3339; events that occurred at or after.
    pub from: Option<String>,
    /// RFC 3339; events that occurred before.
    pub to: Option<String>,
    /// Events to skip.
    pub offset: Option<String>,
    /// Page size, 1..=200.
    pub limit: Option<String>,
}

/// A delivery in the log.
#[derive(Debug, Serialize)]
pub struct DeliveryOut {
    /// Id, for retries.
    pub id: i64,
    /// Where to.
    pub endpoint_id: String,
    /// The endpoint was deleted; its deliveries are kept as history.
    pub endpoint_deleted: bool,
    /// The payload version the endpoint receives.
    pub schema_version: SchemaVersion,
    /// `pending`, `retrying`, `delivered` or `dead`.
    pub status: &'static str,
    /// Attempts made.
    pub attempts: i32,
    /// Next attempt, while pending or retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Delivered or dead at.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
    /// What the endpoint received (its OTP hidden); in an event's detail only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl From<DeliveryRow> for DeliveryOut {
    fn from(d: DeliveryRow) -> Self {
        DeliveryOut {
            id: d.id,
            endpoint_id: d.endpoint_id,
            endpoint_deleted: d.endpoint_deleted,
            schema_version: d.schema_version,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            finished_at: d.finished_at,
            last_error: d.last_error,
            payload: None,
        }
    }
}

/// An event in the log.
#[derive(Debug, Serialize)]
pub struct EventOut {
    /// Id.
    pub id: String,
    /// Type.
    pub event_type: String,
    /// Order.
    pub order_id: String,
    /// When the status changed.
    pub occurred_at: DateTime<Utc>,
    /// When it was stored.
    pub ingested_at: DateTime<Utc>,
    /// A test event.
    pub is_test: bool,
    /// One per endpoint.
    pub deliveries: Vec<DeliveryOut>,
}

impl From<EventRow> for EventOut {
    fn from(e: EventRow) -> Self {
        EventOut {
            id: e.id,
            event_type: e.event_type,
            order_id: e.order_id,
            occurred_at: e.occurred_at,
            ingested_at: e.ingested_at,
            is_test: e.is_test,
            deliveries: e.deliveries.into_iter().map(DeliveryOut::from).collect(),
        }
    }
}

/// One attempt.
#[derive(Debug, Serialize)]
pub struct AttemptOut {
    /// Its delivery.
    pub delivery_id: i64,
    /// 1 for the first.
    pub attempt_number: i32,
    /// `automatic` or `manual`.
    pub trigger: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Latency.
    pub latency_ms: i32,
    /// Answer status.
    pub http_status: Option<i32>,
    /// Stable failure code.
    pub error_code: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
    /// Start of the answer's body.
    pub response_excerpt: Option<String>,
}

impl From<AttemptRow> for AttemptOut {
    fn from(a: AttemptRow) -> Self {
        AttemptOut {
            delivery_id: a.delivery_id,
            attempt_number: a.attempt_number,
            trigger: a.trigger,
            started_at: a.started_at,
            latency_ms: a.latency_ms,
            http_status: a.http_status,
            error_code: a.error_class,
            error: a.error_detail,
            response_excerpt: a.response_excerpt,
        }
    }
}

/// Parses an RFC 3339 time parameter.
pub(crate) fn time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, Problem> {
    raw.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Problem::invalid(field, format!("not an RFC 3339 time: {e}")))
    })
    .transpose()
}

/// Parses an event type parameter.
pub(crate) fn event_type(raw: Option<&str>) -> Result<Option<EventType>, Problem> {
    raw.map(|t| EventType::from_str(t).map_err(|e| Problem::invalid("event_type", e.to_string())))
        .transpose()
}

async fn list(
    caller: Partner,
    state: web::Data<AppState>,
    Query(q): Query<LogQueryIn>,
) -> Result<HttpResponse, Problem> {
    let statuses = q
        .status
        .as_deref()
        .map(|s| {
            event_log::statuses_of(s).ok_or_else(|| {
                Problem::invalid(
                    "status",
                    "one of delivered, failed, retrying, dead, pending",
                )
            })
        })
        .transpose()?;
    let filter = LogFilter {
        event_type: event_type(q.event_type.as_deref())?,
        statuses,
        from: time("from", q.from.as_deref())?,
        to: time("to", q.to.as_deref())?,
    };
    let offset = whole_number("offset", q.offset.as_deref(), 0..=event_log::WINDOW, 0)?;
    let limit = whole_number("limit", q.limit.as_deref(), 1..=MAX_LIMIT, DEFAULT_LIMIT)?;
    let client = state.pool.get().await?;
    let page = event_log::list(&**client, &caller.id, &filter, offset, limit).await?;
    let shown = page.events.len() as i64;
    let reachable = page.total.min(event_log::WINDOW);
    let next_offset = (offset + shown < reachable).then_some(offset + shown);
    let items: Vec<EventOut> = page.events.into_iter().map(EventOut::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "total": page.total,
        "offset": offset,
        "limit": limit,
        "next_offset": next_offset,
    })))
}

async fn detail(
    caller: Partner,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let detail = event_log::detail(&**client, &caller.id, &id)
        .await?
        .ok_or_else(|| Problem::not_found("event", id.as_str()))?;
    // Each delivery shows what its endpoint received; `payload` is the
    // first delivery's (the newest version when there is none).
    let payload_in = |version| {
        serde_json::from_slice::<serde_json::Value>(&schema::render_for_log(&detail.data, version))
            .map_err(Problem::internal)
    };
    let payload = payload_in(
        detail
            .event
            .deliveries
            .first()
            .map_or(SchemaVersion::V2, |d| d.schema_version),
    )?;
    let mut event = EventOut::from(detail.event);
    for delivery in &mut event.deliveries {
        delivery.payload = Some(payload_in(delivery.schema_version)?);
    }
    let attempts: Vec<AttemptOut> = detail.attempts.into_iter().map(AttemptOut::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "event": event,
        "payload": payload,
        "attempts": attempts,
    })))
}
