//! Deliveries and their attempts: the durable log the endpoint actors work
//! from and write back to.

use std::borrow::Borrow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

use super::StoreError;
use crate::schema::EventData;

/// A delivery that still has to reach its endpoint.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    /// Delivery id; per endpoint, deliveries of one order go out in id order.
    pub id: i64,
    /// The order it belongs to.
    pub order_id: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// Failed attempts charged to the retry schedule (a failed half-open
    /// probe is not).
    pub charged: i32,
    /// Not before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// When it was created; it is dead once older than the maximum age.
    pub created_at: DateTime<Utc>,
    /// The event to send.
    pub event: Arc<EventData>,
    /// When the source record was appended to Kafka, for end-to-end latency.
    pub appended_at: Option<DateTime<Utc>>,
    /// A person asked for this delivery to be tried again: its next attempt
    /// is recorded as [`Trigger::Manual`] and is made even past the maximum age.
    pub manual: bool,
}

/// Pending deliveries of one endpoint with an id above `after`, in id order.
pub async fn pending_for_endpoint(
    client: &impl GenericClient,
    endpoint_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<PendingDelivery>, StoreError> {
    let rows = client
        .query(
            "SELECT d.id, d.order_id, d.attempts, d.next_attempt_at, d.created_at, e.data, e.source_appended_at,
                    d.charged_failures, d.manual_retry_requested
             FROM deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.endpoint_id = $1 AND d.state = 'pending' AND d.id > $2
             ORDER BY d.id
             LIMIT $3",
            &[&endpoint_id, &after, &limit],
        )
        .await?;
    rows.into_iter()
        .map(|row| {
            let data: serde_json::Value = row.get(5);
            let event: EventData =
                serde_json::from_value(data).map_err(|e| StoreError::Corrupt {
                    table: "events",
                    message: e.to_string(),
                })?;
            Ok(PendingDelivery {
                id: row.get(0),
                order_id: row.get(1),
                attempts: row.get(2),
                charged: row.get(7),
                next_attempt_at: row.get(3),
                created_at: row.get(4),
                event: Arc::new(event),
                appended_at: row.get(6),
                manual: row.get(8),
            })
        })
        .collect()
}

/// Who started an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The delivery pipeline, including its scheduled retries.
    Automatic,
    /// A person, through the API or the portal.
    Manual,
}

impl Trigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Automatic => "automatic",
            Trigger::Manual => "manual",
        }
    }
}

/// One HTTP attempt, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// 1 for the first attempt of a delivery.
    pub attempt_number: i32,
    /// Automatic or manual.
    pub trigger: Trigger,
    /// When the request started.
    pub started_at: DateTime<Utc>,
    /// Until the response head arrived, or the failure.
    pub latency_ms: i32,
    /// The response status, if one arrived.
    pub http_status: Option<i32>,
    /// A stable failure code (`http_status`, `timeout`, `connect`, ...), or
    /// `None` for an acknowledgement.
    pub error_class: Option<&'static str>,
    /// Operator-facing detail of the failure.
    pub error_detail: Option<String>,
    /// The start of the response body.
    pub response_excerpt: Option<String>,
}

/// What became of a delivery after an attempt (or without one, when it aged
/// out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Acknowledged: finished.
    Delivered,
    /// Failed; try again at this time.
    RetryAt(DateTime<Utc>),
    /// Out of attempts or too old: finished, published to the dead-letter topic.
    Dead,
}

/// A delivery's new state, with the attempt that led to it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The delivery.
    pub delivery_id: i64,
    /// Attempts made, including this one.
    pub attempts: i32,
    /// Failures charged to the retry schedule.
    pub charged: i32,
    /// The attempt, if one was made.
    pub attempt: Option<AttemptRecord>,
    /// Where the delivery goes next.
    pub transition: Transition,
    /// The last failure, for the event log.
    pub last_error: Option<String>,
}

/// Writes a batch of outcomes: attempts appended, deliveries updated, in two
/// statements whatever the batch size.
pub async fn record_outcomes<O: Borrow<Outcome>>(
    client: &impl GenericClient,
    outcomes: &[O],
) -> Result<(), StoreError> {
    let outcomes: Vec<&Outcome> = outcomes.iter().map(Borrow::borrow).collect();
    let attempts: Vec<(i64, &AttemptRecord)> = outcomes
        .iter()
        .filter_map(|o| o.attempt.as_ref().map(|a| (o.delivery_id, a)))
        .collect();
    if !attempts.is_empty() {
        insert_attempts(client, &attempts).await?;
    }
    update_deliveries(client, &outcomes).await
}

/// Appends the attempts, by delivery id.
async fn insert_attempts(
    client: &impl GenericClient,
    attempts: &[(i64, &AttemptRecord)],
) -> Result<(), StoreError> {
    let ids: Vec<i64> = attempts.iter().map(|(id, _)| *id).collect();
    let numbers: Vec<i32> = attempts.iter().map(|(_, a)| a.attempt_number).collect();
    let triggers: Vec<&str> = attempts.iter().map(|(_, a)| a.trigger.as_str()).collect();
    let started: Vec<DateTime<Utc>> = attempts.iter().map(|(_, a)| a.started_at).collect();
    let latency: Vec<i32> = attempts.iter().map(|(_, a)| a.latency_ms).collect();
    let status: Vec<Option<i32>> = attempts.iter().map(|(_, a)| a.http_status).collect();
    let class: Vec<Option<&str>> = attempts.iter().map(|(_, a)| a.error_class).collect();
    let detail: Vec<Option<&str>> = attempts
        .iter()
        .map(|(_, a)| a.error_detail.as_deref())
        .collect();
    let excerpt: Vec<Option<&str>> = attempts
        .iter()
        .map(|(_, a)| a.response_excerpt.as_deref())
        .collect();
    client
        .execute(
            "INSERT INTO attempts (delivery_id, attempt_number, trigger, started_at, latency_ms,
                                   http_status, error_class, error_detail, response_excerpt)
             SELECT u.* FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::int[],
                                    $6::int[], $7::text[], $8::text[], $9::text[])
                 AS u(delivery_id, attempt_number, trigger, started_at, latency_ms,
                      http_status, error_class, error_detail, response_excerpt)
             -- Its event may have been removed during the attempt.
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = u.delivery_id)",
            &[&ids, &numbers, &triggers, &started, &latency, &status, &class, &detail, &excerpt],
        )
        .await?;
    Ok(())
}

/// Moves each delivery to where its outcome sends it.
async fn update_deliveries(
    client: &impl GenericClient,
    outcomes: &[&Outcome],
) -> Result<(), StoreError> {
    let ids: Vec<i64> = outcomes.iter().map(|o| o.delivery_id).collect();
    let states: Vec<&str> = outcomes
        .iter()
        .map(|o| match o.transition {
            Transition::Delivered => "delivered",
            Transition::RetryAt(_) => "pending",
            Transition::Dead => "dead",
        })
        .collect();
    let counts: Vec<i32> = outcomes.iter().map(|o| o.attempts).collect();
    let next: Vec<Option<DateTime<Utc>>> = outcomes
        .iter()
        .map(|o| match o.transition {
            Transition::RetryAt(at) => Some(at),
            _ => None,
        })
        .collect();
    let errors: Vec<Option<&str>> = outcomes.iter().map(|o| o.last_error.as_deref()).collect();
    let charged: Vec<i32> = outcomes.iter().map(|o| o.charged).collect();
    // A manual attempt answers the manual retry request; an automatic one
    // leaves a request made meanwhile in place.
    let manual: Vec<bool> = outcomes
        .iter()
        .map(|o| {
            o.attempt
                .as_ref()
                .is_some_and(|a| a.trigger == Trigger::Manual)
        })
        .collect();
    client
        .execute(
            "UPDATE deliveries d
             SET state = u.state,
                 attempts = u.attempts,
                 next_attempt_at = COALESCE(u.next_at, d.next_attempt_at),
                 finished_at = CASE WHEN u.state = 'pending' THEN NULL ELSE now() END,
                 -- An acknowledgement ends the story: the failures stay in
                 -- the attempts, not on a delivered delivery.
                 last_error = CASE WHEN u.state = 'delivered' THEN NULL
                                   ELSE COALESCE(u.last_error, d.last_error) END,
                 charged_failures = u.charged,
                 manual_retry_requested = d.manual_retry_requested AND NOT u.manual
             FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::int[], $7::bool[])
                  AS u(id, state, attempts, next_at, last_error, charged, manual)
             WHERE d.id = u.id",
            &[&ids, &states, &counts, &next, &errors, &charged, &manual],
        )
        .await?;
    Ok(())
}
