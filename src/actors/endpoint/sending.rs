//! Sending: what may start, the attempt itself, what its outcome does to the
//! delivery, and burial of the dead.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use bytes::Bytes;
use chrono::Utc;

use super::attempt::{AttemptResult, Envelope, Failure};
use super::response_rules::{rule_for, Rule};
use super::{EndpointActor, HeldState};
use crate::schema;
use crate::store::deliveries::{AttemptRecord, Outcome, Transition, Trigger};
use crate::telemetry::events::{
    AttemptFinished, DeadLetterPublishFailed, DeadLetterPublished, DeliveryAcked, DeliveryDead,
    DeliveryRetryScheduled, QueueDepth,
};

/// The fault-injection panic fires once per process.
static INJECTED_PANIC: AtomicBool = AtomicBool::new(false);

impl EndpointActor {
    pub(super) fn wake(&mut self, id: i64, ctx: &mut Context<Self>) {
        if let Some(h) = self.held.get_mut(&id) {
            if matches!(h.state, HeldState::Waiting(_)) {
                h.state = HeldState::Ready;
            }
        }
        self.pump(ctx);
    }

    /// Starts every delivery that may start: due, first of its order among
    /// the held ones, allowed by the breaker, within the concurrency limit.
    /// Then refills the window from the store if it is behind and has room.
    pub(super) fn pump(&mut self, ctx: &mut Context<Self>) {
        // Every change to the window ends in a pump, so this keeps the gauge
        // current without touching each call site.
        self.report_depth();
        if self.retired {
            self.drop_idle(ctx);
            return;
        }
        if self.paused(ctx) {
            self.refill(false, ctx);
            return;
        }
        // While its last attempt failed, an endpoint gets one attempt at a
        // time: a receiver that hangs or errors holds one connection (and one
        // of the process's slots) instead of max_in_flight, and the next
        // success opens them all again.
        let concurrency = if self.failing {
            1
        } else {
            self.deps.config.max_in_flight
        };
        let limit = concurrency.saturating_sub(self.in_flight);
        let max_age =
            chrono::Duration::from_std(self.deps.config.max_age).unwrap_or(chrono::Duration::MAX);
        let now = Utc::now();
        let mut candidates = Vec::new();
        let mut expired = Vec::new();
        // The oldest delivery waiting for a retry that may go next, should
        // the breaker want a probe.
        let mut first_waiting = None;
        {
            // A delivery waits for every earlier held delivery of its order,
            // whatever that one's state: in flight, waiting for a retry, or
            // being buried.
            let mut orders_seen: HashSet<&str> = HashSet::new();
            for (id, h) in &self.held {
                if !orders_seen.insert(h.delivery.order_id.as_str()) {
                    continue;
                }
                match h.state {
                    HeldState::Ready => {}
                    HeldState::Waiting(_) => {
                        first_waiting.get_or_insert(*id);
                        continue;
                    }
                    HeldState::InFlight | HeldState::Burying => continue,
                }
                // A manual retry is a person's explicit wish; the age limit
                // only stops the pipeline from trying forever on its own.
                if !h.delivery.manual && now - h.delivery.created_at > max_age {
                    expired.push(*id);
                } else if candidates.len() < limit {
                    candidates.push(*id);
                }
            }
        }
        // An open breaker whose cool-down is over probes with the oldest
        // delivery that may go next, even if its own retry time (set during
        // the outage) has not come: the breaker decides when to try now.
        let probe_due = self
            .breaker
            .reopens_at()
            .is_some_and(|t| t <= Instant::now());
        if let Some(id) = first_waiting.filter(|_| candidates.is_empty() && probe_due) {
            if let Some(h) = self.held.get_mut(&id) {
                if let HeldState::Waiting(handle) = h.state {
                    ctx.cancel_future(handle);
                }
                h.state = HeldState::Ready;
            }
            candidates.push(id);
        }
        // Fewer could start than may: the window holds too little ready work.
        let starving = candidates.len() < limit;
        for id in expired {
            let reason = format!(
                "not delivered within the maximum age of {:?}",
                self.deps.config.max_age
            );
            self.bury(id, None, reason, ctx);
        }
        for id in candidates {
            // Checked before the breaker, whose permit in half-open is the
            // probe itself and must not be taken and then left unused.
            if !self.rate_permits(ctx) {
                break;
            }
            let (allowed, transition) = self.breaker.permit(Instant::now());
            if let Some(t) = transition {
                self.on_breaker_transition(t, ctx);
            }
            if !allowed {
                self.schedule_probe(ctx);
                break;
            }
            let probe = self.breaker.is_probing();
            self.start(id, probe, ctx);
        }
        self.refill(starving, ctx);
    }

    pub(super) fn report_depth(&self) {
        QueueDepth {
            endpoint: &self.endpoint,
            depth: self.held.len(),
        }
        .emit();
    }

    /// Wakes the actor when the breaker's cool-down ends.
    pub(super) fn schedule_probe(&mut self, ctx: &mut Context<Self>) {
        if self.probe_timer.is_some() {
            return;
        }
        if let Some(at) = self.breaker.reopens_at() {
            let wait = at.saturating_duration_since(Instant::now());
            self.probe_timer = Some(ctx.run_later(wait, |act, ctx| {
                act.probe_timer = None;
                act.guarded(ctx, |act, ctx| act.pump(ctx));
            }));
        }
    }

    fn start(&mut self, id: i64, probe: bool, ctx: &mut Context<Self>) {
        let Some(h) = self.held.get_mut(&id) else {
            return;
        };
        let injected = &self.deps.config.fault_injection_panic_order;
        if !injected.is_empty()
            && h.delivery.order_id == *injected
            && !INJECTED_PANIC.swap(true, Ordering::SeqCst)
        {
            panic!("injected fault: delivery {id} of order {injected}");
        }
        h.state = HeldState::InFlight;
        self.in_flight += 1;
        let event = h.delivery.event.clone();
        let endpoint = self.endpoint.clone();
        let http = self.http.clone();
        // Rendered per attempt in the endpoint's own version, so the signature
        // always covers exactly the bytes this endpoint receives.
        let body = Bytes::from(schema::render(&event, endpoint.schema_version));
        let deprecation = self.deps.lifecycle.deprecation(endpoint.schema_version);
        async move {
            let envelope = Envelope {
                event_id: &event.event_id,
                event_type: event.event_type,
                schema_version: endpoint.schema_version,
                deprecation,
                secrets: &endpoint.secrets,
            };
            http.post(&endpoint.url, &envelope, body).await
        }
        .into_actor(self)
        .map(move |result, act, ctx| {
            act.guarded(ctx, |act, ctx| act.finish(id, probe, result, ctx))
        })
        .spawn(ctx);
    }

    /// Records an attempt and moves its delivery on: done, retry later, or
    /// dead. A failed probe is not charged to the delivery's retries.
    fn finish(&mut self, id: i64, probe: bool, result: AttemptResult, ctx: &mut Context<Self>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // After any failure, a pause included, one attempt at a time until
        // one succeeds: this is how a throttling endpoint is slowed down.
        self.failing = !result.acked();
        let rule = rule_for(&result, SystemTime::now(), self.deps.config.retry_after_max);
        // A failed probe must reach the breaker, or it stays half-open.
        let for_breaker = probe || !matches!(rule, Rule::WaitFor(_));
        self.observe_health(&result, for_breaker, ctx);
        let Some(h) = self.held.get_mut(&id) else {
            self.pump(ctx);
            return;
        };
        h.delivery.attempts += 1;
        let attempts = h.delivery.attempts;
        let trigger = if h.delivery.manual {
            Trigger::Manual
        } else {
            Trigger::Automatic
        };
        // Only the first attempt after a manual retry request is manual.
        h.delivery.manual = false;
        let record = attempt_record(
            attempts,
            trigger,
            &result,
            self.deps.config.response_excerpt_bytes,
        );
        AttemptFinished {
            endpoint: &self.endpoint,
            delivery: &h.delivery,
            result: &result,
        }
        .emit();
        match (&result.failure, rule) {
            (None, _) => {
                DeliveryAcked {
                    endpoint: &self.endpoint,
                    delivery: &h.delivery,
                }
                .emit();
                let charged = h.delivery.charged;
                self.held.remove(&id);
                self.record(Outcome {
                    delivery_id: id,
                    attempts,
                    charged,
                    attempt: Some(record),
                    transition: Transition::Delivered,
                    last_error: None,
                });
            }
            // Neither rule spends a retry: the delivery waits for the pause,
            // or in the store for the partner to enable the endpoint again.
            (Some(failure), Rule::Gone) => {
                h.state = HeldState::Ready;
                let outcome = uncharged(id, h, record, failure, Utc::now());
                self.record(outcome);
                self.disable_as_gone(ctx);
            }
            (Some(failure), Rule::WaitFor(wait)) => {
                h.state = HeldState::Ready;
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                h.delivery.next_attempt_at = at;
                let outcome = uncharged(id, h, record, failure, at);
                self.record(outcome);
                self.pause_for(wait, result.status.unwrap_or_default(), ctx);
            }
            (Some(failure), _) if probe => {
                // The breaker is open again; the delivery waits for the next
                // probe without spending its retries.
                h.state = HeldState::Ready;
                let outcome = Outcome {
                    delivery_id: id,
                    attempts,
                    charged: h.delivery.charged,
                    attempt: Some(record),
                    transition: Transition::RetryAt(Utc::now()),
                    last_error: Some(failure.to_string()),
                };
                self.record(outcome);
            }
            (Some(failure), _) => self.charge_failure(id, record, failure, ctx),
        }
        self.pump(ctx);
    }

    /// A failure that spends one of the delivery's retries: it is tried
    /// again after the schedule's next wait, or is dead when none is left.
    fn charge_failure(
        &mut self,
        id: i64,
        record: AttemptRecord,
        failure: &Failure,
        ctx: &mut Context<Self>,
    ) {
        let Some(h) = self.held.get_mut(&id) else {
            return;
        };
        h.delivery.charged += 1;
        let (attempts, charged) = (h.delivery.attempts, h.delivery.charged);
        let error = failure.to_string();
        match self.deps.policy.delay_after(charged) {
            Some(delay) => {
                DeliveryRetryScheduled {
                    endpoint: &self.endpoint,
                    delivery: &h.delivery,
                    failure,
                    delay,
                }
                .emit();
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                h.delivery.next_attempt_at = at;
                h.state = HeldState::Waiting(ctx.run_later(delay, move |act, ctx| {
                    act.guarded(ctx, |act, ctx| act.wake(id, ctx))
                }));
                self.record(Outcome {
                    delivery_id: id,
                    attempts,
                    charged,
                    attempt: Some(record),
                    transition: Transition::RetryAt(at),
                    last_error: Some(error),
                });
            }
            None => {
                let reason = format!("{attempts} attempts failed; last: {error}");
                self.bury(id, Some(record), reason, ctx);
            }
        }
    }

    /// Publishes a dead delivery to the dead-letter topic, then marks it dead.
    /// Publishing is retried until it succeeds, so no dead letter is lost.
    pub(super) fn bury(
        &mut self,
        id: i64,
        attempt: Option<AttemptRecord>,
        reason: String,
        ctx: &mut Context<Self>,
    ) {
        let Some(h) = self.held.get_mut(&id) else {
            return;
        };
        h.state = HeldState::Burying;
        let delivery = h.delivery.clone();
        let delivery_for_log = delivery.clone();
        let endpoint = self.endpoint.clone();
        let dlq = self.deps.dead_letters.clone();
        let retry_reason = reason.clone();
        async move {
            dlq.publish(&endpoint, &delivery, &reason)
                .await
                .map(|()| reason)
        }
        .into_actor(self)
        .map(move |published, act, ctx| match published {
            Ok(reason) => {
                DeadLetterPublished {
                    endpoint: &act.endpoint,
                }
                .emit();
                if let Some(h) = act.held.remove(&id) {
                    DeliveryDead {
                        endpoint: &act.endpoint,
                        delivery: &h.delivery,
                        reason: &reason,
                    }
                    .emit();
                    act.record(Outcome {
                        delivery_id: id,
                        attempts: h.delivery.attempts,
                        charged: h.delivery.charged,
                        attempt,
                        transition: Transition::Dead,
                        last_error: Some(reason),
                    });
                }
                act.guarded(ctx, |act, ctx| act.pump(ctx));
            }
            Err(error) => {
                DeadLetterPublishFailed {
                    endpoint: &act.endpoint,
                    delivery: &delivery_for_log,
                    error: &error,
                }
                .emit();
                ctx.run_later(Duration::from_secs(2), move |act, ctx| {
                    act.bury(id, attempt, retry_reason, ctx);
                });
            }
        })
        .spawn(ctx);
    }
}

/// The outcome of a failed attempt that spends no retry: the delivery is
/// due again at `at`.
fn uncharged(
    id: i64,
    h: &super::Held,
    record: AttemptRecord,
    failure: &Failure,
    at: chrono::DateTime<Utc>,
) -> Outcome {
    Outcome {
        delivery_id: id,
        attempts: h.delivery.attempts,
        charged: h.delivery.charged,
        attempt: Some(record),
        transition: Transition::RetryAt(at),
        last_error: Some(failure.to_string()),
    }
}

/// The log record of one attempt: `result` as made by `trigger`, its
/// response excerpt cut to `excerpt_bytes`.
pub fn attempt_record(
    attempt_number: i32,
    trigger: Trigger,
    result: &AttemptResult,
    excerpt_bytes: usize,
) -> AttemptRecord {
    AttemptRecord {
        attempt_number,
        trigger,
        started_at: result.started_at,
        latency_ms: i32::try_from(result.latency.as_millis()).unwrap_or(i32::MAX),
        http_status: result.status.map(i32::from),
        error_class: result.failure.as_ref().map(Failure::code),
        error_detail: result.failure.as_ref().map(ToString::to_string),
        response_excerpt: result.excerpt.as_ref().map(|e| truncate(e, excerpt_bytes)),
    }
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
