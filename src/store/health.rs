//! Endpoint health as stored: breaker state, ACK rate, at-risk flag, and the
//! log of their transitions.

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
#[derive(Debug, Clone)]
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
    Ok(row.map(|r| Health {
        breaker_state: r.get(0),
        breaker_since: r.get(1),
        ack_rate: r.get(2),
        window_attempts: r.get(3),
        window_acked: r.get(4),
        at_risk: r.get(5),
        at_risk_reason: r.get(6),
        at_risk_since: r.get(7),
        last_success_at: r.get(8),
        last_failure_at: r.get(9),
    }))
}
