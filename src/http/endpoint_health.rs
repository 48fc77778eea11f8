//! `GET /endpoints/{id}/health`: how one of the partner's endpoints is
//! doing, as its actor last recorded it, plus its last 24 hours of attempts
//! by outcome. Operators get the same health on `GET /admin/endpoints`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;

use super::auth::Partner;
use super::problem::Problem;
use super::AppState;
use crate::store::endpoints;
use crate::store::health::{self, Health, HourlyOutcomes};

/// Mounts the route (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/endpoints/{id}/health", web::get().to(get));
}

/// An endpoint's health.
#[derive(Debug, Clone, Serialize)]
pub struct HealthOut {
    /// Rolling ACK rate over `health.ack_window` (0..=1); null without
    /// attempts in the window.
    pub ack_rate: Option<f64>,
    /// Attempts in the window.
    pub window_attempts: i64,
    /// Of which acknowledged.
    pub window_acked: i64,
    /// Last acknowledgement.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last failed attempt.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// `closed`, `open` or `half_open`.
    pub breaker_state: String,
    /// Since when.
    pub breaker_since: Option<DateTime<Utc>>,
    /// The integration needs attention.
    pub at_risk: bool,
    /// Why.
    pub at_risk_reason: Option<String>,
    /// Since when.
    pub at_risk_since: Option<DateTime<Utc>>,
}

impl HealthOut {
    /// The health of an endpoint whose actor has recorded nothing yet (new,
    /// or disabled): breaker closed, no attempts.
    pub fn unknown() -> Self {
        HealthOut {
            ack_rate: None,
            window_attempts: 0,
            window_acked: 0,
            last_success_at: None,
            last_failure_at: None,
            breaker_state: "closed".to_owned(),
            breaker_since: None,
            at_risk: false,
            at_risk_reason: None,
            at_risk_since: None,
        }
    }
}

impl From<Health> for HealthOut {
    fn from(h: Health) -> Self {
        HealthOut {
            ack_rate: h.ack_rate,
            window_attempts: h.window_attempts,
            window_acked: h.window_acked,
            last_success_at: h.last_success_at,
            last_failure_at: h.last_failure_at,
            breaker_state: h.breaker_state,
            breaker_since: Some(h.breaker_since),
            at_risk: h.at_risk,
            at_risk_reason: h.at_risk_reason,
            at_risk_since: h.at_risk_since,
        }
    }
}

/// Attempts in one hour, by outcome.
#[derive(Debug, Serialize)]
pub struct HourOut {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// 2xx.
    pub acked: i64,
    /// Answered with another status.
    pub rejected: i64,
    /// Timeout, connection or TLS failure.
    pub unanswered: i64,
}

impl From<HourlyOutcomes> for HourOut {
    fn from(h: HourlyOutcomes) -> Self {
        HourOut {
            hour: h.hour,
            acked: h.acked,
            rejected: h.rejected,
            unanswered: h.unanswered,
        }
    }
}

/// The last 24 hours, from the start of the hour 23 hours ago.
pub fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let start = now - Duration::hours(23);
    start.duration_trunc(Duration::hours(1)).unwrap_or(start)
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
    let health = health::get(&**client, &endpoint.id)
        .await?
        .map_or_else(HealthOut::unknown, HealthOut::from);
    let hours: Vec<HourOut> = health::hourly_outcomes(&**client, &caller.id, day_start(Utc::now()))
        .await?
        .into_iter()
        .filter(|(endpoint_id, _)| *endpoint_id == endpoint.id)
        .map(|(_, h)| HourOut::from(h))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "endpoint_id": endpoint.id,
        "health": health,
        "last_24h": hours,
    })))
}
