//! Every metric trackwire exports: name, type, labels and meaning, in one
//! place. `docs/metrics.md` is the same list for readers; a test keeps the two
//! in step, and the typed events in [`super::events`] are the only code that
//! writes these metrics.
//!
//! Labels are bounded on purpose: ids, event types and outcome classes.
//! Never a URL, raw error text, an OTP or a phone number.

/// What kind of Prometheus series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic count; the name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations in buckets; the name ends in its unit.
    Histogram,
}

impl Kind {
    /// The Prometheus type name, as `docs/metrics.md` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One catalogued metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Full Prometheus name.
    pub name: &'static str,
    /// Series type.
    pub kind: Kind,
    /// Label names, in the order the catalogue lists them.
    pub labels: &'static [&'static str],
    /// One-line meaning, exported as the metric's `# HELP`.
    pub help: &'static str,
}

const ENDPOINT_LABELS: &[&str] = &["partner", "endpoint"];
const DELIVERY_LABELS: &[&str] = &["partner", "endpoint", "event_type", "outcome"];

/// Always 1; the `version` label names the running build.
pub const BUILD_INFO: MetricDef = MetricDef {
    name: "trackwire_build_info",
    kind: Kind::Gauge,
    labels: &["version"],
    help: "Always 1; the version label names the running build.",
};

/// CDC records that became an event.
pub const EVENTS_INGESTED: MetricDef = MetricDef {
    name: "trackwire_events_ingested_total",
    kind: Kind::Counter,
    labels: &["event_type"],
    help: "CDC records that became an event and were stored with their deliveries.",
};

/// CDC records that were understood but emit nothing.
pub const RECORDS_SKIPPED: MetricDef = MetricDef {
    name: "trackwire_records_skipped_total",
    kind: Kind::Counter,
    labels: &["reason"],
    help:
        "CDC records understood but emitting no event (tombstone, delete, no status change, ...).",
};

/// CDC records that could not be understood and were set aside.
pub const RECORDS_QUARANTINED: MetricDef = MetricDef {
    name: "trackwire_records_quarantined_total",
    kind: Kind::Counter,
    labels: &["reason"],
    help: "CDC records set aside in the quarantine table (malformed, unmappable, rejected by the database).",
};

/// Errors reported by the Kafka consumer.
pub const KAFKA_CONSUMER_ERRORS: MetricDef = MetricDef {
    name: "trackwire_kafka_consumer_errors_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Errors returned by the CDC consumer while polling.",
};

/// Records of the CDC topic not yet consumed, per partition.
pub const KAFKA_CONSUMER_LAG: MetricDef = MetricDef {
    name: "trackwire_kafka_consumer_lag",
    kind: Kind::Gauge,
    labels: &["topic", "partition"],
    help: "Records between the consumer's position and the partition's high watermark, from librdkafka statistics.",
};

/// HTTP attempts, by what came of each.
pub const DELIVERY_ATTEMPTS: MetricDef = MetricDef {
    name: "trackwire_delivery_attempts_total",
    kind: Kind::Counter,
    labels: &[
        "partner",
        "endpoint",
        "event_type",
        "outcome",
        "error_class",
    ],
    help:
        "Webhook HTTP attempts; outcome is acked or failed, error_class says why a failure failed.",
};

/// Delivery state changes: acknowledged, scheduled for a retry, dead.
pub const DELIVERIES: MetricDef = MetricDef {
    name: "trackwire_deliveries_total",
    kind: Kind::Counter,
    labels: DELIVERY_LABELS,
    help: "Deliveries moving on after an attempt: acked (done), retried (a retry is scheduled) or dead.",
};

/// Duration of one HTTP attempt.
pub const ATTEMPT_DURATION: MetricDef = MetricDef {
    name: "trackwire_delivery_attempt_duration_seconds",
    kind: Kind::Histogram,
    labels: &["partner", "outcome"],
    help: "Duration of one webhook HTTP attempt: connect, send, read the answer.",
};

/// From the status change in the OMS to the partner's acknowledgement.
pub const END_TO_END: MetricDef = MetricDef {
    name: "trackwire_delivery_end_to_end_seconds",
    kind: Kind::Histogram,
    labels: &["event_type"],
    help: "From the order status change in the OMS (occurred_at) to the partner's 2xx, test events excluded.",
};

/// Dead letters published (or not) to the DLQ topic.
pub const DLQ_PUBLISHES: MetricDef = MetricDef {
    name: "trackwire_dlq_publishes_total",
    kind: Kind::Counter,
    labels: &["partner", "result"],
    help: "Dead letters sent to the DLQ topic; result is ok or error (an error is retried).",
};

/// Deliveries held in an endpoint actor's window.
pub const QUEUE_DEPTH: MetricDef = MetricDef {
    name: "trackwire_endpoint_queue_depth",
    kind: Kind::Gauge,
    labels: ENDPOINT_LABELS,
    help: "Deliveries held in the endpoint actor: ready, in flight or waiting for a retry.",
};

/// Circuit breaker state of an endpoint.
pub const BREAKER_STATE: MetricDef = MetricDef {
    name: "trackwire_endpoint_breaker_state",
    kind: Kind::Gauge,
    labels: ENDPOINT_LABELS,
    help: "Circuit breaker of the endpoint: 0 closed, 1 half-open, 2 open.",
};

/// Whether the integration is flagged at-risk.
pub const AT_RISK: MetricDef = MetricDef {
    name: "trackwire_endpoint_at_risk",
    kind: Kind::Gauge,
    labels: ENDPOINT_LABELS,
    help: "1 while the endpoint actor flags the integration at-risk, else 0.",
};

/// Rolling acknowledgement ratio of an endpoint.
pub const ACK_RATIO: MetricDef = MetricDef {
    name: "trackwire_endpoint_ack_ratio",
    kind: Kind::Gauge,
    labels: ENDPOINT_LABELS,
    help: "Rolling share of attempts acknowledged, as tracked by the endpoint actor (0..1).",
};

/// Pushes that found an endpoint's mailbox or window full.
pub const MAILBOX_OVERFLOWS: MetricDef = MetricDef {
    name: "trackwire_mailbox_overflows_total",
    kind: Kind::Counter,
    labels: &["partner", "endpoint", "stage"],
    help: "Deliveries left in PostgreSQL because the endpoint's mailbox (stage=mailbox) or window (stage=window) was full.",
};

/// Endpoints disabled by trackwire because of how they answered.
pub const ENDPOINTS_DISABLED: MetricDef = MetricDef {
    name: "trackwire_endpoints_disabled_total",
    kind: Kind::Counter,
    labels: &["partner", "endpoint", "reason"],
    help: "Endpoints disabled by trackwire (reason=gone: the endpoint answered 410 Gone); they stay disabled until the partner enables them.",
};

/// Answers that asked the endpoint to wait (429/503 with Retry-After).
pub const ENDPOINT_THROTTLED: MetricDef = MetricDef {
    name: "trackwire_endpoint_throttled_total",
    kind: Kind::Counter,
    labels: &["partner", "endpoint", "status"],
    help: "Answers 429 or 503 with Retry-After: the endpoint paused that long (capped by delivery.retry_after_max) without spending a retry.",
};

/// Supervised actor restarts.
pub const ACTOR_RESTARTS: MetricDef = MetricDef {
    name: "trackwire_actor_restarts_total",
    kind: Kind::Counter,
    labels: &["actor"],
    help: "Restarts of supervised actors; state is rebuilt from PostgreSQL.",
};

/// Attempt outcomes written to PostgreSQL.
pub const OUTCOMES_RECORDED: MetricDef = MetricDef {
    name: "trackwire_outcomes_recorded_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Attempt outcomes written to PostgreSQL by the recorders.",
};

/// Failed outcome writes (retried).
pub const OUTCOME_WRITE_ERRORS: MetricDef = MetricDef {
    name: "trackwire_outcome_write_errors_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Batches of outcomes the recorders could not write; each is kept and retried.",
};

/// Calls to the dispatch service for out_for_delivery events.
pub const DISPATCH_ENRICHMENTS: MetricDef = MetricDef {
    name: "trackwire_dispatch_enrichments_total",
    kind: Kind::Counter,
    labels: &["outcome"],
    help: "out_for_delivery events looked up in the dispatch service: enriched, not_found, or missed (unavailable past the budget; sent with null rider fields).",
};

/// What became of SMS to end customers.
pub const SMS: MetricDef = MetricDef {
    name: "trackwire_sms_total",
    kind: Kind::Counter,
    labels: &["partner", "outcome"],
    help: "SMS to end customers by outcome: accepted by the gateway, retried, failed, delivered, expired (delivery reports), opted_out, no_phone, invalid_phone.",
};

/// Every metric, in catalogue order.
pub const CATALOGUE: &[MetricDef] = &[
    BUILD_INFO,
    EVENTS_INGESTED,
    RECORDS_SKIPPED,
    RECORDS_QUARANTINED,
    KAFKA_CONSUMER_ERRORS,
    KAFKA_CONSUMER_LAG,
    DELIVERY_ATTEMPTS,
    DELIVERIES,
    ATTEMPT_DURATION,
    END_TO_END,
    DLQ_PUBLISHES,
    QUEUE_DEPTH,
    BREAKER_STATE,
    AT_RISK,
    ACK_RATIO,
    MAILBOX_OVERFLOWS,
    ENDPOINTS_DISABLED,
    ENDPOINT_THROTTLED,
    ACTOR_RESTARTS,
    OUTCOMES_RECORDED,
    OUTCOME_WRITE_ERRORS,
    DISPATCH_ENRICHMENTS,
    SMS,
];

/// Buckets for [`ATTEMPT_DURATION`]: the attempt timeout defaults to 10 s,
/// so resolution is spent below it, with one bucket above for raised limits.
pub const ATTEMPT_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Buckets for [`END_TO_END`]: 60 s (out_for_delivery) and 90 s (delivered,
/// delivery_failed) are the SLAs, so both are bucket bounds and the share
/// within the SLA is exact; beyond 120 s it only matters that it was late.
pub const END_TO_END_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 75.0, 90.0, 120.0, 300.0, 900.0,
];
