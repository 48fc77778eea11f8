//! Delivery: attempts and what each delivery came to.
//!
//! Every log line here carries `event_id`, `partner_id`, `endpoint_id` and
//! `delivery_id`, so one event can be followed across attempts and endpoints.

use std::time::Duration;

use chrono::Utc;

use crate::actors::endpoint::{AttemptResult, Failure};
use crate::store::deliveries::PendingDelivery;
use crate::store::endpoints::Endpoint;
use crate::telemetry::catalogue::{
    ATTEMPT_DURATION, DELIVERIES, DELIVERY_ATTEMPTS, DLQ_PUBLISHES, END_TO_END, OUTCOMES_RECORDED,
    OUTCOME_WRITE_ERRORS,
};

fn count_delivery(endpoint: &Endpoint, delivery: &PendingDelivery, outcome: &'static str) {
    metrics::counter!(
        DELIVERIES.name,
        "partner" => endpoint.partner_id.clone(),
        "endpoint" => endpoint.id.clone(),
        "event_type" => delivery.event.event_type.as_str(),
        "outcome" => outcome,
    )
    .increment(1);
}

/// An endpoint actor started: its dead-letter series start at 0.
///
/// Prometheus reads a series' first sample as its start, not as an increase,
/// so without a 0 before it the first dead letter of an endpoint would never
/// show in `increase()` and the dead-letter alert would miss it.
pub struct DeadLetterSeriesStarted<'a> {
    /// The endpoint.
    pub endpoint: &'a Endpoint,
}

impl DeadLetterSeriesStarted<'_> {
    /// Touches the dead-delivery counter of each of the endpoint's event
    /// types and the partner's DLQ publish counters, without counting.
    pub fn emit(self) {
        for event_type in &self.endpoint.event_types {
            metrics::counter!(
                DELIVERIES.name,
                "partner" => self.endpoint.partner_id.clone(),
                "endpoint" => self.endpoint.id.clone(),
                "event_type" => event_type.as_str(),
                "outcome" => "dead",
            )
            .increment(0);
        }
        for result in ["ok", "error"] {
            metrics::counter!(
                DLQ_PUBLISHES.name,
                "partner" => self.endpoint.partner_id.clone(),
                "result" => result,
            )
            .increment(0);
        }
    }
}

/// One HTTP attempt finished, acknowledged or not.
pub struct AttemptFinished<'a> {
    /// Where it went.
    pub endpoint: &'a Endpoint,
    /// What it carried; `attempts` already counts this one.
    pub delivery: &'a PendingDelivery,
    /// What came of it.
    pub result: &'a AttemptResult,
}

impl AttemptFinished<'_> {
    /// Counts and times the attempt and logs it at debug level (every
    /// attempt is also in the attempt log in PostgreSQL).
    pub fn emit(self) {
        let (outcome, error_class) = match &self.result.failure {
            None => ("acked", "none"),
            Some(failure) => ("failed", failure.code()),
        };
        metrics::counter!(
            DELIVERY_ATTEMPTS.name,
            "partner" => self.endpoint.partner_id.clone(),
            "endpoint" => self.endpoint.id.clone(),
            "event_type" => self.delivery.event.event_type.as_str(),
            "outcome" => outcome,
            "error_class" => error_class,
        )
        .increment(1);
        metrics::histogram!(
            ATTEMPT_DURATION.name,
            "partner" => self.endpoint.partner_id.clone(),
            "outcome" => outcome,
        )
        .record(self.result.latency.as_secs_f64());
        tracing::debug!(
            event_id = %self.delivery.event.event_id,
            partner_id = %self.endpoint.partner_id,
            endpoint_id = %self.endpoint.id,
            delivery_id = self.delivery.id,
            event_type = self.delivery.event.event_type.as_str(),
            attempt = self.delivery.attempts,
            status = self.result.status,
            latency_ms = self.result.latency.as_millis() as u64,
            outcome,
            error_class,
            "attempt finished"
        );
    }
}

/// The partner acknowledged a delivery: it is done.
pub struct DeliveryAcked<'a> {
    /// Where it went.
    pub endpoint: &'a Endpoint,
    /// What it carried.
    pub delivery: &'a PendingDelivery,
}

impl DeliveryAcked<'_> {
    /// Counts it and observes the end-to-end latency against the SLAs.
    pub fn emit(self) {
        count_delivery(self.endpoint, self.delivery, "acked");
        let event = &self.delivery.event;
        // Test events are sent on demand from the portal, long after (or
        // without) any status change: they would distort the SLA.
        if !event.is_test {
            let elapsed = (Utc::now() - event.occurred_at)
                .to_std()
                .unwrap_or_default();
            metrics::histogram!(END_TO_END.name, "event_type" => event.event_type.as_str())
                .record(elapsed.as_secs_f64());
        }
    }
}

/// An attempt failed and another is scheduled.
pub struct DeliveryRetryScheduled<'a> {
    /// Where it went.
    pub endpoint: &'a Endpoint,
    /// What it carried.
    pub delivery: &'a PendingDelivery,
    /// Why the attempt failed.
    pub failure: &'a Failure,
    /// Wait before the next attempt.
    pub delay: Duration,
}

impl DeliveryRetryScheduled<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        count_delivery(self.endpoint, self.delivery, "retried");
        tracing::info!(
            event_id = %self.delivery.event.event_id,
            partner_id = %self.endpoint.partner_id,
            endpoint_id = %self.endpoint.id,
            delivery_id = self.delivery.id,
            attempt = self.delivery.attempts,
            error_class = self.failure.code(),
            error = %self.failure,
            retry_in_s = self.delay.as_secs(),
            "attempt failed; retry scheduled"
        );
    }
}

/// A delivery ran out of attempts or of time and its dead letter is out.
pub struct DeliveryDead<'a> {
    /// Where it went.
    pub endpoint: &'a Endpoint,
    /// What it carried.
    pub delivery: &'a PendingDelivery,
    /// Why it is dead.
    pub reason: &'a str,
}

impl DeliveryDead<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        count_delivery(self.endpoint, self.delivery, "dead");
        tracing::warn!(
            event_id = %self.delivery.event.event_id,
            partner_id = %self.endpoint.partner_id,
            endpoint_id = %self.endpoint.id,
            delivery_id = self.delivery.id,
            attempts = self.delivery.attempts,
            reason = %self.reason,
            "delivery is dead"
        );
    }
}

/// A dead letter reached the DLQ topic.
pub struct DeadLetterPublished<'a> {
    /// The endpoint it was for.
    pub endpoint: &'a Endpoint,
}

impl DeadLetterPublished<'_> {
    /// Counts it (the delivery's own line is [`DeliveryDead`]).
    pub fn emit(self) {
        metrics::counter!(DLQ_PUBLISHES.name, "partner" => self.endpoint.partner_id.clone(), "result" => "ok")
            .increment(1);
    }
}

/// A dead letter could not be published; it is retried.
pub struct DeadLetterPublishFailed<'a> {
    /// The endpoint it was for.
    pub endpoint: &'a Endpoint,
    /// The dead delivery.
    pub delivery: &'a PendingDelivery,
    /// The producer's error.
    pub error: &'a dyn std::fmt::Display,
}

impl DeadLetterPublishFailed<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        metrics::counter!(DLQ_PUBLISHES.name, "partner" => self.endpoint.partner_id.clone(), "result" => "error")
            .increment(1);
        tracing::error!(
            event_id = %self.delivery.event.event_id,
            partner_id = %self.endpoint.partner_id,
            endpoint_id = %self.endpoint.id,
            delivery_id = self.delivery.id,
            error = %self.error,
            "could not publish a dead letter; retrying"
        );
    }
}

/// A recorder wrote a batch of outcomes.
pub struct OutcomesRecorded {
    /// Outcomes in the batch.
    pub count: usize,
}

impl OutcomesRecorded {
    /// Counts them.
    pub fn emit(self) {
        metrics::counter!(OUTCOMES_RECORDED.name).increment(self.count as u64);
    }
}

/// A recorder could not write a batch; it keeps it and retries.
pub struct OutcomeWriteFailed<'a> {
    /// Outcomes in the batch.
    pub count: usize,
    /// The store's error.
    pub error: &'a dyn std::fmt::Display,
    /// Wait before the retry.
    pub retry_in: Duration,
}

impl OutcomeWriteFailed<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        metrics::counter!(OUTCOME_WRITE_ERRORS.name).increment(1);
        tracing::error!(
            error = %self.error,
            outcomes = self.count,
            retry_in = ?self.retry_in,
            "could not record outcomes"
        );
    }
}
