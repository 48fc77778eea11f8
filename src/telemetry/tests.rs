//! Every typed event against a local recorder and a captured log: the
//! rendered exposition has exactly the catalogued metrics, and neither it nor
//! the log carries an OTP or a rider phone.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use super::catalogue::{Kind, CATALOGUE};
use super::events::*;
use super::exporter;
use crate::actors::endpoint::{AttemptResult, Failure};
use crate::ingest::mapping::SkipReason;
use crate::schema::{synthetic, EventType, SchemaVersion};
use crate::store::deliveries::PendingDelivery;
use crate::store::endpoints::Endpoint;
use crate::store::ingest::SourcePosition;
use crate::webhook::SigningSecret;

const RIDER_PHONE: &str = "+91 98765 43210";

fn endpoint() -> Endpoint {
    Endpoint {
        id: "ep_00000000000000aa".into(),
        partner_id: "ptn_acme".into(),
        url: "https://hooks.acme.example/trackwire?token=secret".into(),
        description: String::new(),
        enabled: true,
        disabled_reason: None,
        disabled_at: None,
        schema_version: SchemaVersion::V1,
        event_types: vec![EventType::OutForDelivery],
        rate_limit: None,
        signing_scheme: Default::default(),
        secrets: vec![SigningSecret::generate()],
        updated_at: Utc::now(),
    }
}

fn delivery() -> PendingDelivery {
    let mut event = synthetic(EventType::OutForDelivery, "ptn_acme", Utc::now());
    event.is_test = false;
    PendingDelivery {
        id: 7,
        order_id: event.order_id.clone(),
        attempts: 1,
        charged: 1,
        manual: false,
        next_attempt_at: Utc::now(),
        created_at: Utc::now(),
        event: Arc::new(event),
        appended_at: Some(Utc::now()),
    }
}

fn result(failure: Option<Failure>) -> AttemptResult {
    AttemptResult {
        started_at: Utc::now(),
        latency: Duration::from_millis(120),
        status: Some(if failure.is_some() { 500 } else { 200 }),
        excerpt: None,
        headers: Vec::new(),
        failure,
    }
}

/// Emits one of every event, as the pipeline would.
fn emit_all(endpoint: &Endpoint, delivery: &PendingDelivery) {
    let position = SourcePosition {
        topic: "oms.orders".into(),
        partition: 0,
        offset: 42,
        appended_at: None,
    };
    DispatchLookedUp { outcome: "missed" }.emit();
    super::events::SmsCounted {
        partner: "partner_1",
        outcome: super::events::SmsOutcome::Delivered,
    }
    .emit();
    EventIngested {
        event_type: EventType::Delivered,
    }
    .emit();
    RecordSkipped {
        reason: SkipReason::NoTransition,
    }
    .emit();
    RecordQuarantined {
        position: &position,
        reason: QuarantineReason::Malformed,
        detail: "not valid JSON",
    }
    .emit();
    let error = rdkafka::error::KafkaError::NoMessageReceived;
    KafkaConsumerError { error: &error }.emit();
    ConsumerLag {
        topic: "oms.orders",
        partition: 0,
        lag: 3,
    }
    .emit();
    let failure = Failure::Status(500);
    for r in [result(None), result(Some(failure.clone()))] {
        AttemptFinished {
            endpoint,
            delivery,
            result: &r,
        }
        .emit();
    }
    DeliveryAcked { endpoint, delivery }.emit();
    DeliveryRetryScheduled {
        endpoint,
        delivery,
        failure: &failure,
        delay: Duration::from_secs(30),
    }
    .emit();
    DeliveryDead {
        endpoint,
        delivery,
        reason: "4 attempts failed",
    }
    .emit();
    DeadLetterPublished { endpoint }.emit();
    DeadLetterPublishFailed {
        endpoint,
        delivery,
        error: &"broker down",
    }
    .emit();
    QueueDepth { endpoint, depth: 5 }.emit();
    BreakerStateChanged {
        endpoint,
        state: BreakerState::Open,
        reason: "5 consecutive failures",
    }
    .emit();
    AtRiskChanged {
        endpoint,
        at_risk: true,
        why: "ack rate below threshold",
    }
    .emit();
    AckRatioObserved {
        endpoint,
        ratio: 0.5,
    }
    .emit();
    MailboxOverflow {
        endpoint,
        stage: OverflowStage::Mailbox,
    }
    .emit();
    ActorRestarted {
        actor: "endpoint",
        endpoint: Some(endpoint),
    }
    .emit();
    EndpointDisabled {
        endpoint,
        reason: "gone",
    }
    .emit();
    EndpointThrottled {
        endpoint,
        status: 429,
        wait: Duration::from_secs(30),
    }
    .emit();
    OutcomesRecorded { count: 2 }.emit();
    OutcomeWriteFailed {
        count: 2,
        error: &"connection closed",
        retry_in: Duration::from_millis(200),
    }
    .emit();
}

/// A writer the log subscriber appends to.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `emit_all` with a local recorder and a JSON log at debug level;
/// returns the exposition text and the log.
fn exercise() -> (String, String, PendingDelivery) {
    let recorder = exporter::recorder().expect("buckets are valid");
    let handle = recorder.handle();
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let (endpoint, delivery) = (endpoint(), delivery());
    tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            exporter::describe();
            emit_all(&endpoint, &delivery);
        });
    });
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    (handle.render(), log, delivery)
}

/// The metric names in an exposition, with histogram suffixes folded back.
fn exposed_names(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default())
        .map(|n| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| n.strip_suffix(s))
                .filter(|base| {
                    CATALOGUE
                        .iter()
                        .any(|m| m.name == *base && m.kind == Kind::Histogram)
                })
                .unwrap_or(n)
                .to_owned()
        })
        .collect()
}

#[test]
fn exposition_has_exactly_the_catalogued_metrics() {
    let (text, _, _) = exercise();
    let exposed = exposed_names(&text);
    let catalogued: std::collections::BTreeSet<String> =
        CATALOGUE.iter().map(|m| m.name.to_owned()).collect();
    assert_eq!(exposed, catalogued, "exposition:\n{text}");
    for m in CATALOGUE {
        assert!(
            text.contains(&format!("# TYPE {} {}", m.name, m.kind.as_str())),
            "{} is not typed {} in:\n{text}",
            m.name,
            m.kind.as_str()
        );
    }
}

#[test]
fn labels_are_the_catalogued_ones() {
    let (text, _, _) = exercise();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        let base = exposed_names(line).into_iter().next().unwrap();
        let def = CATALOGUE.iter().find(|m| m.name == base).unwrap();
        let labels = rest.split('}').next().unwrap();
        for pair in labels.split(',') {
            let key = pair.split('=').next().unwrap();
            let histogram_bound = key == "le" && name.ends_with("_bucket");
            assert!(
                def.labels.contains(&key) || histogram_bound,
                "{name} has uncatalogued label {key}"
            );
        }
    }
}

#[test]
fn sla_bounds_are_bucket_bounds() {
    let (text, _, _) = exercise();
    for bound in ["60", "90", "120"] {
        assert!(
            text.contains(&format!(
                "trackwire_delivery_end_to_end_seconds_bucket{{event_type=\"out_for_delivery\",le=\"{bound}\"}}"
            )),
            "no {bound} s bucket in:\n{text}"
        );
    }
}

#[test]
fn no_otp_phone_or_url_in_metrics_or_logs() {
    let (text, log, delivery) = exercise();
    let otp = delivery
        .event
        .delivery_otp
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let digits: String = RIDER_PHONE.chars().filter(char::is_ascii_digit).collect();
    for (what, out) in [("metrics", &text), ("log", &log)] {
        assert!(
            !out.contains(&format!("\"{otp}\"")),
            "OTP in {what}:\n{out}"
        );
        assert!(!out.contains(&digits), "rider phone in {what}:\n{out}");
        assert!(!out.contains(RIDER_PHONE), "rider phone in {what}:\n{out}");
    }
    assert!(
        !text.contains("hooks.acme.example"),
        "URL in metrics:\n{text}"
    );
}

#[test]
fn delivery_log_lines_carry_event_partner_and_endpoint_ids() {
    let (_, log, delivery) = exercise();
    let delivery_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .filter(|l: &serde_json::Value| l["fields"].get("delivery_id").is_some())
        .collect();
    assert!(delivery_lines.len() >= 4, "{log}");
    for line in delivery_lines {
        let fields = &line["fields"];
        assert_eq!(
            fields["event_id"],
            delivery.event.event_id.as_str(),
            "{line}"
        );
        assert_eq!(fields["partner_id"], "ptn_acme", "{line}");
        assert_eq!(fields["endpoint_id"], "ep_00000000000000aa", "{line}");
    }
}
