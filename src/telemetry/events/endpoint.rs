//! Endpoint actors: their queue, protection state and lifecycle.
//!
//! Gauges are labelled by partner and endpoint. A retired endpoint's gauges
//! are set to zero rather than removed: the `metrics` facade cannot remove a
//! series, and zero is what dashboards should show for it.

use crate::store::endpoints::Endpoint;
use crate::telemetry::catalogue::{
    ACK_RATIO, ACTOR_RESTARTS, AT_RISK, BREAKER_STATE, ENDPOINTS_DISABLED, ENDPOINT_THROTTLED,
    MAILBOX_OVERFLOWS, QUEUE_DEPTH,
};

/// How many deliveries an endpoint actor holds right now.
pub struct QueueDepth<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// Held deliveries.
    pub depth: usize,
}

impl QueueDepth<'_> {
    /// Sets the gauge.
    pub fn emit(self) {
        metrics::gauge!(
            QUEUE_DEPTH.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
        )
        .set(self.depth as f64);
    }
}

/// Where a push found no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowStage {
    /// The router's `try_send` found the actor's mailbox full.
    Mailbox,
    /// The actor's window of held deliveries was full.
    Window,
}

impl OverflowStage {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            OverflowStage::Mailbox => "mailbox",
            OverflowStage::Window => "window",
        }
    }
}

/// A pushed delivery found no room; it stays in PostgreSQL and is paged in
/// later, so nothing is lost, but a steady rate means the endpoint is behind.
pub struct MailboxOverflow<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// Where.
    pub stage: OverflowStage,
}

impl MailboxOverflow<'_> {
    /// Counts it. Not logged: under load it happens once per push.
    pub fn emit(self) {
        metrics::counter!(
            MAILBOX_OVERFLOWS.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
            "stage" => self.stage.as_str(),
        )
        .increment(1);
    }
}

/// trackwire disabled an endpoint because of how it answered. Emitted once
/// per disabling (the store decides which answer did it).
pub struct EndpointDisabled<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// Metric label: `gone` for a `410 Gone`.
    pub reason: &'static str,
}

impl EndpointDisabled<'_> {
    /// Touches the counter without counting, when the endpoint's actor
    /// starts: the alert reads its increase, which a series born at 1 would
    /// not show.
    pub fn series_started(endpoint: &Endpoint) {
        metrics::counter!(
            ENDPOINTS_DISABLED.name,
            "partner" => endpoint.partner_id.clone(),
            "endpoint" => endpoint.id.clone(),
            "reason" => "gone",
        )
        .increment(0);
    }

    /// Counts and logs it.
    pub fn emit(self) {
        metrics::counter!(
            ENDPOINTS_DISABLED.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
            "reason" => self.reason,
        )
        .increment(1);
        tracing::warn!(
            partner_id = %self.endpoint.partner_id,
            endpoint_id = %self.endpoint.id,
            reason = self.reason,
            "endpoint disabled; it stays disabled until the partner enables it"
        );
    }
}

/// An answer asked the endpoint to wait (`429`/`503` with `Retry-After`).
pub struct EndpointThrottled<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// 429 or 503.
    pub status: u16,
    /// The wait, after the cap.
    pub wait: std::time::Duration,
}

impl EndpointThrottled<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        metrics::counter!(
            ENDPOINT_THROTTLED.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
            "status" => self.status.to_string(),
        )
        .increment(1);
        tracing::info!(
            partner_id = %self.endpoint.partner_id,
            endpoint_id = %self.endpoint.id,
            status = self.status,
            wait = ?self.wait,
            "endpoint asked to wait; pausing it without spending a retry"
        );
    }
}

/// A supervised actor is restarting.
pub struct ActorRestarted<'a> {
    /// Which kind of actor (`endpoint`, ...): the label.
    pub actor: &'static str,
    /// The endpoint, for an endpoint actor: the log line only.
    pub endpoint: Option<&'a Endpoint>,
}

impl ActorRestarted<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        metrics::counter!(ACTOR_RESTARTS.name, "actor" => self.actor).increment(1);
        match self.endpoint {
            Some(e) => tracing::warn!(
                actor = self.actor,
                partner_id = %e.partner_id,
                endpoint_id = %e.id,
                "actor restarting"
            ),
            None => tracing::warn!(actor = self.actor, "actor restarting"),
        }
    }
}

/// A circuit breaker state, as exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Deliveries flow.
    Closed,
    /// One probe is testing recovery.
    HalfOpen,
    /// Deliveries wait.
    Open,
}

impl BreakerState {
    /// The gauge value: ordered so that higher is worse.
    pub fn value(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
        }
    }
}

/// An endpoint's breaker changed state. Emit once per transition, so the
/// log has one line per change.
pub struct BreakerStateChanged<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// The new state.
    pub state: BreakerState,
    /// Why it changed.
    pub reason: &'a str,
}

impl BreakerStateChanged<'_> {
    /// Sets the gauge without logging: the state as found at start-up, not a
    /// transition.
    pub fn emit_gauge_only(self) {
        metrics::gauge!(
            BREAKER_STATE.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
        )
        .set(self.state.value());
    }

    /// Sets the gauge and logs the transition.
    pub fn emit(self) {
        metrics::gauge!(
            BREAKER_STATE.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
        )
        .set(self.state.value());
        if self.state == BreakerState::Open {
            tracing::warn!(
                partner_id = %self.endpoint.partner_id,
                endpoint_id = %self.endpoint.id,
                state = self.state.as_str(),
                reason = %self.reason,
                "circuit breaker changed state"
            );
        } else {
            tracing::info!(
                partner_id = %self.endpoint.partner_id,
                endpoint_id = %self.endpoint.id,
                state = self.state.as_str(),
                reason = %self.reason,
                "circuit breaker changed state"
            );
        }
    }
}

/// An integration became at-risk, or recovered. Emit once per transition.
pub struct AtRiskChanged<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// Whether it is at-risk now.
    pub at_risk: bool,
    /// Why, in a few words (e.g. "ack rate below threshold"): the log line
    /// only, the alert reads the other gauges.
    pub why: &'a str,
}

impl AtRiskChanged<'_> {
    /// Sets the gauge without logging: the flag as found at start-up, not a
    /// transition.
    pub fn emit_gauge_only(self) {
        metrics::gauge!(
            AT_RISK.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
        )
        .set(if self.at_risk { 1.0 } else { 0.0 });
    }

    /// Sets the gauge and logs the transition.
    pub fn emit(self) {
        metrics::gauge!(
            AT_RISK.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
        )
        .set(if self.at_risk { 1.0 } else { 0.0 });
        if self.at_risk {
            tracing::warn!(
                partner_id = %self.endpoint.partner_id,
                endpoint_id = %self.endpoint.id,
                why = %self.why,
                "integration is at-risk"
            );
        } else {
            tracing::info!(
                partner_id = %self.endpoint.partner_id,
                endpoint_id = %self.endpoint.id,
                why = %self.why,
                "integration recovered"
            );
        }
    }
}

/// The endpoint's rolling ACK ratio after an attempt.
pub struct AckRatioObserved<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// Acknowledged share of the window, 0..=1.
    pub ratio: f64,
}

impl AckRatioObserved<'_> {
    /// Sets the gauge.
    pub fn emit(self) {
        metrics::gauge!(
            ACK_RATIO.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
        )
        .set(self.ratio);
    }
}
