//! Endpoint health as stored: breaker state, ACK rate, at-risk flag, and the
//! log of their transitions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

use super::StoreError;

/// The latest health of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// `closed`, `open` or `half_open`.
    pub breaker_state: String,
    /// Since when.
    pub breaker_since: DateTime<Utc>,
    /// ACK rate over the window, if there were attempts.
    pub ack_rate: Option<f64>,
    /// Attempts in the window.
    pub window_attempts: i64,
    /// Of which acknowledged.
    pub window_acked: i64,
    /// The at-risk flag.
    pub at_risk: bool,
    /// Why it is raised.
    pub at_risk_reason: Option<String>,
    /// Since when.
    pub at_risk_since: Option<DateTime<Utc>>,
    /// Last acknowledgement.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last failed attempt.
    pub last_failure_at: Option<DateTime<Utc>>,
}

/// A periodic snapshot written by the endpoint actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Breaker state name.
    pub breaker_state: &'static str,
    /// ACK rate, if any attempts.
    pub ack_rate: Option<f64>,
    /// Attempts in the window.
    pub window_attempts: i64,
    /// Acknowledged in the window.
    pub window_acked: i64,
    /// At-risk reason, `None` when not at risk.
    pub at_risk_reason: Option<String>,
    /// Last acknowledgement.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last failure.
    pub last_failure_at: Option<DateTime<Utc>>,
}

/// Writes a snapshot. `breaker_since` and `at_risk_since` move only when the
/// state they describe changes.
pub async fn upsert(
    client: &impl GenericClient,
    endpoint_id: &str,
    s: &Snapshot,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO endpoint_health AS h (endpoint_id, breaker_state, ack_rate, window_attempts, window_acked,
                                               at_risk, at_risk_reason, at_risk_since, last_success_at, last_failure_at)
             VALUES ($1, $2, $3, $4, $5, $6::text IS NOT NULL, $6::text,
                     CASE WHEN $6::text IS NOT NULL THEN now() END, $7, $8)
             ON CONFLICT (endpoint_id) DO UPDATE SET
                 breaker_since = CASE WHEN h.breaker_state = EXCLUDED.breaker_state THEN h.breaker_since ELSE now() END,
                 breaker_state = EXCLUDED.breaker_state,
                 ack_rate = EXCLUDED.ack_rate,
                 window_attempts = EXCLUDED.window_attempts,
                 window_acked = EXCLUDED.window_acked,
                 at_risk_since = CASE WHEN EXCLUDED.at_risk AND NOT h.at_risk THEN now()
                                      WHEN EXCLUDED.at_risk THEN h.at_risk_since END,
                 at_risk = EXCLUDED.at_risk,
                 at_risk_reason = EXCLUDED.at_risk_reason,
                 last_success_at = COALESCE(EXCLUDED.last_success_at, h.last_success_at),
                 last_failure_at = COALESCE(EXCLUDED.last_failure_at, h.last_failure_at),
                 updated_at = now()",
            &[
                &endpoint_id,
                &s.breaker_state,
                &s.ack_rate,
                &s.window_attempts,
                &s.window_acked,
                &s.at_risk_reason,
                &s.last_success_at,
                &s.last_failure_at,
            ],
        )
        .await?;
    Ok(())
}

/// Appends a transition to the log.
pub async fn record_transition(
    client: &impl GenericClient,
    endpoint_id: &str,
    kind: &str,
    from: &str,
    to: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO endpoint_transitions (endpoint_id, kind, from_state, to_state, reason, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&endpoint_id, &kind, &from, &to, &reason, &at],
        )
        .await?;
    Ok(())
}

/// The stored health of an endpoint, if any was written.
pub async fn get(
    client: &impl GenericClient,
    endpoint_id: &str,
) -> Result<Option<Health>, StoreError> {
    let row = client
        .query_opt(
            "SELECT breaker_state, breaker_since, ack_rate, window_attempts, window_acked, at_risk,
                    at_risk_reason, at_risk_since, last_success_at, last_failure_at
             FROM endpoint_health WHERE endpoint_id = $1",
            &[&endpoint_id],
        )
        .await?;
    Ok(row.as_ref().map(|r| health_from(r, 0)))
}

/// One endpoint's health and how long ago it was written, for an endpoint
/// actor rebuilding its window at start.
pub async fn get_with_age(
    client: &impl GenericClient,
    endpoint_id: &str,
) -> Result<Option<(Health, std::time::Duration)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT breaker_state, breaker_since, ack_rate, window_attempts, window_acked, at_risk,
                    at_risk_reason, at_risk_since, last_success_at, last_failure_at,
                    greatest(extract(epoch FROM now() - updated_at), 0)::float8
             FROM endpoint_health WHERE endpoint_id = $1",
            &[&endpoint_id],
        )
        .await?;
    Ok(row.as_ref().map(|r| {
        let age: f64 = r.get(10);
        (
            health_from(r, 0),
            std::time::Duration::try_from_secs_f64(age).unwrap_or_default(),
        )
    }))
}

/// Reads the [`Health`] columns of `r`, starting at column `at`.
fn health_from(r: &tokio_postgres::Row, at: usize) -> Health {
    Health {
        breaker_state: r.get(at),
        breaker_since: r.get(at + 1),
        ack_rate: r.get(at + 2),
        window_attempts: r.get(at + 3),
        window_acked: r.get(at + 4),
        at_risk: r.get(at + 5),
        at_risk_reason: r.get(at + 6),
        at_risk_since: r.get(at + 7),
        last_success_at: r.get(at + 8),
        last_failure_at: r.get(at + 9),
    }
}

/// The stored health of every endpoint (of one partner when `partner_id` is
/// given), by endpoint id. Endpoints whose actor has written nothing yet are
/// absent.
pub async fn list(
    client: &impl GenericClient,
    partner_id: Option<&str>,
) -> Result<HashMap<String, Health>, StoreError> {
    let rows = client
        .query(
            "SELECT h.endpoint_id, h.breaker_state, h.breaker_since, h.ack_rate, h.window_attempts,
                    h.window_acked, h.at_risk, h.at_risk_reason, h.at_risk_since,
                    h.last_success_at, h.last_failure_at
             FROM endpoint_health h JOIN endpoints e ON e.id = h.endpoint_id
             WHERE $1::text IS NULL OR e.partner_id = $1",
            &[&partner_id],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), health_from(r, 1))).collect())
}

/// Attempts to one endpoint in one hour, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourlyOutcomes {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// Acknowledged (2xx).
    pub acked: i64,
    /// Answered with another status.
    pub rejected: i64,
    /// No answer: timeout, connection or TLS failure.
    pub unanswered: i64,
}

/// A partner's attempts since `since`, per endpoint and hour (hours without
/// attempts are absent), computed from the `attempts` table.
pub async fn hourly_outcomes(
    client: &impl GenericClient,
    partner_id: &str,
    since: DateTime<Utc>,
) -> Result<Vec<(String, HourlyOutcomes)>, StoreError> {
    let rows = client
        .query(
            "SELECT d.endpoint_id, date_trunc('hour', a.started_at) AS hour,
                    count(*) FILTER (WHERE a.error_class IS NULL),
                    count(*) FILTER (WHERE a.error_class IS NOT NULL AND a.http_status IS NOT NULL),
                    count(*) FILTER (WHERE a.error_class IS NOT NULL AND a.http_status IS NULL)
             FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE a.started_at >= $2 AND d.partner_id = $1
             GROUP BY 1, 2 ORDER BY 1, 2",
            &[&partner_id, &since],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                HourlyOutcomes {
                    hour: r.get(1),
                    acked: r.get(2),
                    rejected: r.get(3),
                    unanswered: r.get(4),
                },
            )
        })
        .collect())
}
