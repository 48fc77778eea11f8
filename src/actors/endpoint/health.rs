//! The endpoint's health: circuit breaker transitions, rolling ACK rate and
//! the at-risk flag, exported as metrics, logged once per transition, and
//! written to the store.

use std::time::Instant;

use actix::prelude::*;
use chrono::Utc;

use super::at_risk::Change;
use super::attempt::AttemptResult;
use super::breaker::State;
use super::breaker::Transition as BreakerTransition;
use super::{AckSnapshot, EndpointActor, HeldState};
use crate::store::health::{self, Snapshot};
use crate::telemetry::events::{
    AckRatioObserved, AtRiskChanged, BreakerState, BreakerStateChanged,
};

fn exported(state: State) -> BreakerState {
    match state {
        State::Closed => BreakerState::Closed,
        State::HalfOpen { .. } => BreakerState::HalfOpen,
        State::Open { .. } => BreakerState::Open,
    }
}

impl EndpointActor {
    /// Restores the stored at-risk flag and ACK window (both survive
    /// restarts, so at-risk detection does not start over at each deploy)
    /// and starts the periodic snapshot.
    pub(super) fn start_health(&mut self, ctx: &mut Context<Self>) {
        let pool = self.deps.pool.clone();
        let endpoint_id = self.endpoint.id.clone();
        async move {
            let client = pool.get().await.ok()?;
            health::get_with_age(&**client, &endpoint_id)
                .await
                .ok()
                .flatten()
        }
        .into_actor(self)
        .map(|stored, act, _| {
            if let Some((h, age)) = &stored {
                let window = AckSnapshot {
                    attempts: u64::try_from(h.window_attempts).unwrap_or(0),
                    acked: u64::try_from(h.window_acked).unwrap_or(0),
                };
                // A supervised restart keeps the tracker: restore only fills
                // an empty one.
                act.ack.restore(window, *age, Instant::now());
                act.last_success = act.last_success.or(h.last_success_at);
                act.last_failure = act.last_failure.or(h.last_failure_at);
            }
            let at_risk = stored.map(|(h, _)| h).filter(|h| h.at_risk);
            if let Some(h) = &at_risk {
                act.at_risk.reason = h
                    .at_risk_reason
                    .clone()
                    .or(Some("at risk before restart".into()));
            }
            // Set both gauges once at start, so dashboards show the endpoint
            // before anything changes.
            let why = act.at_risk.reason.clone().unwrap_or_default();
            AtRiskChanged {
                endpoint: &act.endpoint,
                at_risk: at_risk.is_some(),
                why: &why,
            }
            .emit_gauge_only();
            BreakerStateChanged {
                endpoint: &act.endpoint,
                state: exported(act.breaker.state()),
                reason: "",
            }
            .emit_gauge_only();
            act.export_gauges();
        })
        .wait(ctx);
        ctx.run_interval(self.deps.health.snapshot_interval, |act, ctx| {
            act.guarded(ctx, |act, ctx| act.health_tick(ctx));
        });
    }

    /// Folds an attempt's result into the ACK rate and the flag, and into
    /// the breaker when `for_breaker` (an answer that asked us to wait is
    /// honoured by the pause, and must not also open the breaker).
    pub(super) fn observe_health(
        &mut self,
        result: &AttemptResult,
        for_breaker: bool,
        ctx: &mut Context<Self>,
    ) {
        let now = Instant::now();
        let acked = result.acked();
        self.ack.record(acked, now);
        if let Some(ratio) = self.ack.snapshot(now).rate() {
            AckRatioObserved {
                endpoint: &self.endpoint,
                ratio,
            }
            .emit();
        }
        if acked {
            self.last_success = Some(Utc::now());
        } else {
            self.last_failure = Some(Utc::now());
        }
        if for_breaker {
            if let Some(t) = self.breaker.record(!acked, now) {
                self.on_breaker_transition(t, ctx);
            }
        }
        self.evaluate_at_risk();
        if !self.snapshot_written {
            self.store_snapshot();
        }
    }

    /// Logs, exports and stores a breaker transition.
    pub(super) fn on_breaker_transition(&mut self, t: BreakerTransition, ctx: &mut Context<Self>) {
        match t.to {
            "open" if t.from == "closed" => self.open_since = Some(Instant::now()),
            "closed" => {
                self.open_since = None;
                // The endpoint is back: the backlog drains now, oldest first
                // and in order per order, rather than at each delivery's
                // retry time, which was set during the outage.
                for h in self.held.values_mut() {
                    if let HeldState::Waiting(handle) = h.state {
                        ctx.cancel_future(handle);
                        h.state = HeldState::Ready;
                    }
                }
            }
            _ => {}
        }
        if t.to == "open" {
            // Nothing else may wake the actor when the cool-down ends (every
            // delivery may be waiting for a retry time).
            self.schedule_probe(ctx);
        }
        BreakerStateChanged {
            endpoint: &self.endpoint,
            state: exported(self.breaker.state()),
            reason: &t.reason,
        }
        .emit();
        self.store_transition("breaker", t.from, t.to, t.reason);
        self.evaluate_at_risk();
    }

    /// Re-evaluates the at-risk flag; a change is logged, exported and
    /// stored.
    fn evaluate_at_risk(&mut self) {
        let rate = self.ack.snapshot(Instant::now());
        let open_for = self.open_since.map(|s| s.elapsed());
        let Some(change) = self.at_risk.evaluate(&self.deps.at_risk, rate, open_for) else {
            return;
        };
        let (raised, reason) = match change {
            Change::Raised(reason) => (true, reason),
            Change::Cleared(reason) => (false, reason),
        };
        AtRiskChanged {
            endpoint: &self.endpoint,
            at_risk: raised,
            why: &reason,
        }
        .emit();
        let (from, to) = if raised {
            ("ok", "at_risk")
        } else {
            ("at_risk", "ok")
        };
        self.store_transition("at_risk", from, to, reason);
        self.store_snapshot();
    }

    fn health_tick(&mut self, _ctx: &mut Context<Self>) {
        // An endpoint with no attempt in the window and a closed breaker has
        // nothing that could change: with 100,000 mostly idle endpoints this
        // tick is most of what the service does.
        let quiet = self.ack.snapshot(Instant::now()).attempts == 0 && self.open_since.is_none();
        if quiet && self.last_snapshot.is_some() {
            return;
        }
        self.evaluate_at_risk();
        self.export_gauges();
        self.store_snapshot();
    }

    /// Re-exports the current values, so a scrape after a restart or a quiet
    /// period still sees them.
    fn export_gauges(&mut self) {
        if let Some(ratio) = self.ack.snapshot(Instant::now()).rate() {
            AckRatioObserved {
                endpoint: &self.endpoint,
                ratio,
            }
            .emit();
        }
        self.report_depth();
    }

    fn store_snapshot(&mut self) {
        self.snapshot_written = true;
        let rate = self.ack.snapshot(Instant::now());
        let snapshot = Snapshot {
            breaker_state: self.breaker.state().name(),
            ack_rate: rate.rate(),
            window_attempts: rate.attempts as i64,
            window_acked: rate.acked as i64,
            at_risk_reason: self.at_risk.reason.clone(),
            last_success_at: self.last_success,
            last_failure_at: self.last_failure,
        };
        if self.last_snapshot.as_ref() == Some(&snapshot) {
            return;
        }
        self.last_snapshot = Some(snapshot.clone());
        let pool = self.deps.pool.clone();
        let endpoint_id = self.endpoint.id.clone();
        // Not tied to the actor's context: a write survives an actor restart.
        actix_rt::spawn(async move {
            if let Ok(client) = pool.get().await {
                if let Err(error) = health::upsert(&**client, &endpoint_id, &snapshot).await {
                    tracing::warn!(%error, endpoint_id, "could not store endpoint health");
                }
            }
        });
    }

    fn store_transition(
        &self,
        kind: &'static str,
        from: &'static str,
        to: &'static str,
        reason: String,
    ) {
        let pool = self.deps.pool.clone();
        let endpoint_id = self.endpoint.id.clone();
        // Stamped here: the writes run concurrently and may land out of order.
        let at = Utc::now();
        actix_rt::spawn(async move {
            if let Ok(client) = pool.get().await {
                if let Err(error) =
                    health::record_transition(&**client, &endpoint_id, kind, from, to, &reason, at)
                        .await
                {
                    tracing::warn!(%error, endpoint_id, kind, "could not store a transition");
                }
            }
        });
    }
}
