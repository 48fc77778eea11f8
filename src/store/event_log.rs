//! The partner's event log: recent events with the state of their deliveries,
//! and one event in full with every attempt.

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Row};

use super::StoreError;
use crate::schema::{EventData, EventType, SchemaVersion};

/// Pages of the log reach a partner's most recent matching events, this
/// many.
pub const WINDOW: i64 = 500;

/// Where a delivery stands, as the log shows it. Derived from the stored
/// state and attempt count by [`STATUS_SQL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// At least one attempt failed; another is scheduled.
    Retrying,
    /// Acknowledged.
    Delivered,
    /// Out of attempts or too old; waits for a manual retry.
    Dead,
}

impl DeliveryStatus {
    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn from_sql(s: &str) -> Self {
        match s {
            "delivered" => DeliveryStatus::Delivered,
            "dead" => DeliveryStatus::Dead,
            "retrying" => DeliveryStatus::Retrying,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// The [`DeliveryStatus`] of delivery `d`, in SQL.
pub(crate) const STATUS_SQL: &str = "CASE WHEN d.state = 'delivered' THEN 'delivered'
     WHEN d.state = 'dead' THEN 'dead'
     WHEN d.attempts > 0 THEN 'retrying' ELSE 'pending' END";

/// The statuses a filter value stands for. `failed` means "the latest
/// attempt failed": retrying or dead.
pub fn statuses_of(filter: &str) -> Option<&'static [&'static str]> {
    match filter {
        "delivered" => Some(&["delivered"]),
        "failed" => Some(&["retrying", "dead"]),
        "retrying" => Some(&["retrying"]),
        "dead" => Some(&["dead"]),
        "pending" => Some(&["pending"]),
        _ => None,
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only this event type.
    pub event_type: Option<EventType>,
    /// Only events with a delivery in one of these statuses (from [`statuses_of`]).
    pub statuses: Option<&'static [&'static str]>,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
}

/// A delivery, as the log lists it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// Delivery id (for retries).
    pub id: i64,
    /// The event delivered.
    pub event_id: String,
    /// Where to.
    pub endpoint_id: String,
    /// The endpoint's URL (as it was, if deleted).
    pub endpoint_url: String,
    /// The endpoint was deleted; the delivery is kept as history.
    pub endpoint_deleted: bool,
    /// The version the endpoint receives (received, if deleted).
    pub schema_version: SchemaVersion,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due, while pending or retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was delivered or declared dead.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// An event in the log list.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Event id.
    pub id: String,
    /// Its type.
    pub event_type: String,
    /// The order.
    pub order_id: String,
    /// When the status changed.
    pub occurred_at: DateTime<Utc>,
    /// When trackwire stored it.
    pub ingested_at: DateTime<Utc>,
    /// A test event from the portal or API.
    pub is_test: bool,
    /// Its deliveries, by endpoint.
    pub deliveries: Vec<DeliveryRow>,
}

/// One page of the log, and how many events match in all.
#[derive(Debug, Clone)]
pub struct LogPage {
    /// Newest first.
    pub events: Vec<EventRow>,
    /// Every matching event, also those past the pages' reach ([`WINDOW`]).
    pub total: i64,
}

/// One recorded attempt.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// The delivery it belongs to.
    pub delivery_id: i64,
    /// 1 for the first.
    pub attempt_number: i32,
    /// `automatic` or `manual`.
    pub trigger: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Until the answer or the failure.
    pub latency_ms: i32,
    /// The answer's status.
    pub http_status: Option<i32>,
    /// Stable failure code; `None` for an acknowledgement.
    pub error_class: Option<String>,
    /// What went wrong.
    pub error_detail: Option<String>,
    /// Start of the answer's body.
    pub response_excerpt: Option<String>,
}

/// An event in full.
#[derive(Debug, Clone)]
pub struct EventDetail {
    /// As listed.
    pub event: EventRow,
    /// Its content.
    pub data: EventData,
    /// Every attempt of every delivery, oldest first.
    pub attempts: Vec<AttemptRow>,
}

const DELIVERY_COLUMNS: &str =
    "d.id, d.event_id, d.endpoint_id, d.attempts, d.finished_at, d.last_error,
     CASE WHEN d.state = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
     COALESCE(x.url, g.url, '') AS endpoint_url, x.id IS NULL AS endpoint_deleted,
     COALESCE(x.schema_version, g.schema_version) AS schema_version";

/// The endpoint of delivery `d`, live (`x`) or deleted (`g`).
const ENDPOINT_JOINS: &str = "LEFT JOIN endpoints x ON x.id = d.endpoint_id
     LEFT JOIN deleted_endpoints g ON x.id IS NULL AND g.id = d.endpoint_id";

fn delivery_row(row: &Row) -> DeliveryRow {
    let status: String = row.get("status");
    DeliveryRow {
        id: row.get("id"),
        event_id: row.get("event_id"),
        endpoint_id: row.get("endpoint_id"),
        endpoint_url: row.get("endpoint_url"),
        endpoint_deleted: row.get("endpoint_deleted"),
        // Written by the store from the same enum; an unknown value (a row
        // from a newer release) reads as the oldest version.
        schema_version: row
            .get::<_, Option<&str>>("schema_version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(SchemaVersion::V1),
        status: DeliveryStatus::from_sql(&status),
        attempts: row.get("attempts"),
        next_attempt_at: row.get("next_attempt_at"),
        finished_at: row.get("finished_at"),
        last_error: row.get("last_error"),
    }
}

fn event_row(row: &Row) -> EventRow {
    EventRow {
        id: row.get("id"),
        event_type: row.get("event_type"),
        order_id: row.get("order_id"),
        occurred_at: row.get("occurred_at"),
        ingested_at: row.get("ingested_at"),
        is_test: row.get("is_test"),
        deliveries: Vec::new(),
    }
}

/// The events `r` of partner `$1` that match the filter `$2..$5`.
const MATCHING_SQL: &str = "FROM events r
     WHERE r.partner_id = $1
       AND ($2::text IS NULL OR r.event_type = $2)
       AND ($3::timestamptz IS NULL OR r.occurred_at >= $3)
       AND ($4::timestamptz IS NULL OR r.occurred_at < $4)
       AND ($5::text[] IS NULL OR EXISTS (
            SELECT 1 FROM deliveries d
            WHERE d.event_id = r.id AND d.partner_id = $1 AND ({STATUS}) = ANY($5)))";

/// A page of a partner's events matching `filter`, newest first. Pages
/// reach the newest [`WINDOW`] matching events; `total` counts them all,
/// whatever the page.
pub async fn list(
    client: &impl GenericClient,
    partner_id: &str,
    filter: &LogFilter,
    offset: i64,
    limit: i64,
) -> Result<LogPage, StoreError> {
    let matching = MATCHING_SQL.replace("{STATUS}", STATUS_SQL);
    let statuses: Option<Vec<&str>> = filter.statuses.map(|s| s.to_vec());
    let event_type = filter.event_type.map(EventType::as_str);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &partner_id,
        &event_type,
        &filter.from,
        &filter.to,
        &statuses,
    ];
    let total: i64 = client
        .query_one(&format!("SELECT count(*) {matching}"), &params)
        .await?
        .get(0);
    let limit = limit.min(WINDOW - offset).max(0);
    if limit == 0 || offset >= total {
        return Ok(LogPage {
            events: Vec::new(),
            total,
        });
    }
    let sql = format!(
        "SELECT r.id, r.event_type, r.order_id, r.occurred_at, r.ingested_at, r.is_test {matching}
         ORDER BY r.ingested_at DESC, r.id DESC LIMIT {limit} OFFSET {offset}"
    );
    let rows = client.query(&sql, &params).await?;
    let mut events: Vec<EventRow> = rows.iter().map(event_row).collect();
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let deliveries = deliveries_of(client, partner_id, &ids).await?;
    for e in &mut events {
        e.deliveries = deliveries
            .iter()
            .filter(|d| d.event_id == e.id)
            .cloned()
            .collect();
    }
    Ok(LogPage { events, total })
}

async fn deliveries_of(
    client: &impl GenericClient,
    partner_id: &str,
    event_ids: &[&str],
) -> Result<Vec<DeliveryRow>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS}, {STATUS_SQL} AS status FROM deliveries d {ENDPOINT_JOINS}
         WHERE d.event_id = ANY($1) AND d.partner_id = $2 ORDER BY d.endpoint_id, d.id"
    );
    let rows = client.query(&sql, &[&event_ids, &partner_id]).await?;
    Ok(rows.iter().map(delivery_row).collect())
}

/// One of a partner's events with its deliveries and attempts; `None` when
/// the partner has no such event.
pub async fn detail(
    client: &impl GenericClient,
    partner_id: &str,
    event_id: &str,
) -> Result<Option<EventDetail>, StoreError> {
    let Some(row) = client
        .query_opt(
            "SELECT id, event_type, order_id, occurred_at, ingested_at, is_test, data
             FROM events WHERE id = $1 AND partner_id = $2",
            &[&event_id, &partner_id],
        )
        .await?
    else {
        return Ok(None);
    };
    let mut event = event_row(&row);
    let data: serde_json::Value = row.get("data");
    let data: EventData = serde_json::from_value(data).map_err(|e| StoreError::Corrupt {
        table: "events",
        message: e.to_string(),
    })?;
    event.deliveries = deliveries_of(client, partner_id, &[event_id]).await?;
    let ids: Vec<i64> = event.deliveries.iter().map(|d| d.id).collect();
    let attempts = client
        .query(
            "SELECT delivery_id, attempt_number, trigger, started_at, latency_ms, http_status,
                    error_class, error_detail, response_excerpt
             FROM attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, id",
            &[&ids],
        )
        .await?
        .iter()
        .map(|r| AttemptRow {
            delivery_id: r.get(0),
            attempt_number: r.get(1),
            trigger: r.get(2),
            started_at: r.get(3),
            latency_ms: r.get(4),
            http_status: r.get(5),
            error_class: r.get(6),
            error_detail: r.get(7),
            response_excerpt: r.get(8),
        })
        .collect();
    Ok(Some(EventDetail {
        event,
        data,
        attempts,
    }))
}
