//! Work started by people rather than the pipeline: manual retries and test
//! events.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use super::deliveries::{self, AttemptRecord, Outcome, Transition};
use super::event_log::STATUS_SQL;
use super::StoreError;
use crate::schema::{EventData, EventType};

/// What became of a request to retry one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOne {
    /// Queued; the endpoint's actor should be told.
    Queued {
        /// The endpoint it goes to.
        endpoint_id: String,
    },
    /// It was acknowledged already; nothing to retry.
    AlreadyDelivered,
    /// Its endpoint is disabled and would never send it; left as it is.
    EndpointDisabled {
        /// The endpoint it goes to.
        endpoint_id: String,
    },
    /// The partner has no such delivery.
    NotFound,
}

/// Sets a delivery back to pending, due now, flagged as a manual retry, so
/// that its endpoint's actor picks it up and records the attempt as `manual`.
pub(crate) const REQUEUE_SQL: &str =
    "state = 'pending', next_attempt_at = now(), finished_at = NULL,
     manual_retry_requested = true, charged_failures = 0";

/// Queues one of a partner's deliveries for a manual retry.
pub async fn retry_one(
    client: &impl GenericClient,
    partner_id: &str,
    delivery_id: i64,
) -> Result<RetryOne, StoreError> {
    let sql = format!(
        "WITH target AS (
             -- A deleted endpoint's deliveries are history, not work: the
             -- join finds only endpoints that still exist.
             SELECT d.id, d.state, d.endpoint_id, e.enabled FROM deliveries d
             JOIN endpoints e ON e.id = d.endpoint_id
             WHERE d.id = $1 AND d.partner_id = $2 FOR UPDATE OF d),
         queued AS (
             UPDATE deliveries d SET {REQUEUE_SQL}
             FROM target t WHERE d.id = t.id AND t.state <> 'delivered' AND t.enabled
             RETURNING d.id)
         SELECT t.state, t.endpoint_id, t.enabled FROM target t"
    );
    let row = client.query_opt(&sql, &[&delivery_id, &partner_id]).await?;
    Ok(match row {
        None => RetryOne::NotFound,
        Some(r) if r.get::<_, &str>(0) == "delivered" => RetryOne::AlreadyDelivered,
        Some(r) if !r.get::<_, bool>(2) => RetryOne::EndpointDisabled {
            endpoint_id: r.get(1),
        },
        Some(r) => RetryOne::Queued {
            endpoint_id: r.get(1),
        },
    })
}

/// Which of a partner's deliveries to retry in bulk.
#[derive(Debug, Clone, Default)]
pub struct RetryFilter<'a> {
    /// Statuses to retry, from [`super::event_log::statuses_of`]; never
    /// `delivered`.
    pub statuses: &'a [&'a str],
    /// Only events of this type.
    pub event_type: Option<EventType>,
    /// Only deliveries to this endpoint.
    pub endpoint_id: Option<&'a str>,
    /// Events that occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Events that occurred before.
    pub to: Option<DateTime<Utc>>,
}

/// The deliveries `d` (with their events `e` and endpoints `ep`) a bulk
/// retry matches; `$1` is the partner, `$2..$6` the filter.
const MATCHING_SQL: &str = "FROM deliveries d
     JOIN events e ON e.id = d.event_id
     JOIN endpoints ep ON ep.id = d.endpoint_id
     WHERE d.partner_id = $1 AND d.state <> 'delivered'
       AND ($3::text IS NULL OR e.event_type = $3)
       AND ($4::text IS NULL OR d.endpoint_id = $4)
       AND ($5::timestamptz IS NULL OR e.occurred_at >= $5)
       AND ($6::timestamptz IS NULL OR e.occurred_at < $6)";

/// Queues every matching delivery of a partner's enabled endpoints for a
/// manual retry (a disabled endpoint would never send it). Returns the
/// endpoint of each delivery queued.
pub async fn retry_matching(
    client: &impl GenericClient,
    partner_id: &str,
    filter: &RetryFilter<'_>,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "UPDATE deliveries u SET {REQUEUE_SQL}
         WHERE u.id IN (SELECT d.id {MATCHING_SQL} AND ep.enabled AND ({STATUS_SQL}) = ANY($2))
         RETURNING u.endpoint_id"
    );
    let params = FilterParams::new(partner_id, filter);
    let rows = client.query(&sql, &params.values()).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// How many deliveries matching `filter` belong to disabled endpoints, which
/// [`retry_matching`] leaves as they are.
pub async fn count_matching_disabled(
    client: &impl GenericClient,
    partner_id: &str,
    filter: &RetryFilter<'_>,
) -> Result<i64, StoreError> {
    let sql =
        format!("SELECT count(*) {MATCHING_SQL} AND NOT ep.enabled AND ({STATUS_SQL}) = ANY($2)");
    let params = FilterParams::new(partner_id, filter);
    let row = client.query_one(&sql, &params.values()).await?;
    Ok(row.get(0))
}

/// The bound values of [`MATCHING_SQL`].
struct FilterParams<'a> {
    partner_id: &'a str,
    statuses: Vec<&'a str>,
    event_type: Option<&'static str>,
    endpoint_id: Option<&'a str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl<'a> FilterParams<'a> {
    fn new(partner_id: &'a str, filter: &'a RetryFilter<'_>) -> Self {
        FilterParams {
            partner_id,
            statuses: filter.statuses.to_vec(),
            event_type: filter.event_type.map(EventType::as_str),
            endpoint_id: filter.endpoint_id,
            from: filter.from,
            to: filter.to,
        }
    }

    fn values(&self) -> [&(dyn ToSql + Sync); 6] {
        [
            &self.partner_id,
            &self.statuses,
            &self.event_type,
            &self.endpoint_id,
            &self.from,
            &self.to,
        ]
    }
}

/// Stores a test event that was just sent to one endpoint, with its delivery
/// and the attempt, in the caller's transaction, so it shows in the log like
/// any other event. A failed test is marked dead at once: it is not retried
/// on its own (a person is watching), but can be retried by hand.
/// Returns the delivery id.
pub async fn record_test_event(
    tx: &impl GenericClient,
    data: &EventData,
    endpoint_id: &str,
    attempt: AttemptRecord,
) -> Result<i64, StoreError> {
    let json = serde_json::to_value(data).map_err(|e| StoreError::Corrupt {
        table: "events",
        message: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO events (id, partner_id, order_id, event_type, occurred_at, is_test, data)
         VALUES ($1, $2, $3, $4, $5, true, $6)",
        &[
            &data.event_id,
            &data.partner_id,
            &data.order_id,
            &data.event_type.as_str(),
            &data.occurred_at,
            &json,
        ],
    )
    .await?;
    let delivery_id: i64 = tx
        .query_one(
            "INSERT INTO deliveries (event_id, endpoint_id, partner_id, order_id)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[
                &data.event_id,
                &endpoint_id,
                &data.partner_id,
                &data.order_id,
            ],
        )
        .await?
        .get(0);
    let (transition, last_error) = match &attempt.error_detail {
        None => (Transition::Delivered, None),
        Some(detail) => (
            Transition::Dead,
            Some(format!("test event failed: {detail}")),
        ),
    };
    deliveries::record_outcomes(
        tx,
        &[Outcome {
            delivery_id,
            attempts: 1,
            charged: 0,
            attempt: Some(attempt),
            transition,
            last_error,
        }],
    )
    .await?;
    Ok(delivery_id)
}
