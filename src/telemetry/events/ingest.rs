//! Ingest: what became of each CDC record.

use crate::ingest::mapping::SkipReason;
use crate::schema::EventType;
use crate::store::ingest::SourcePosition;
use crate::telemetry::catalogue::{
    DISPATCH_ENRICHMENTS, EVENTS_INGESTED, RECORDS_QUARANTINED, RECORDS_SKIPPED,
};

/// A record became an event and was stored.
pub struct EventIngested {
    /// Its event type.
    pub event_type: EventType,
}

impl EventIngested {
    /// Counts it.
    pub fn emit(self) {
        metrics::counter!(EVENTS_INGESTED.name, "event_type" => self.event_type.as_str())
            .increment(1);
    }
}

/// The dispatch service was asked for an event's rider and OTP.
pub struct DispatchLookedUp {
    /// `enriched`, `not_found` or `missed`.
    pub outcome: &'static str,
}

impl DispatchLookedUp {
    /// Counts it; the caller logs misses with the event's ids.
    pub fn emit(self) {
        metrics::counter!(DISPATCH_ENRICHMENTS.name, "outcome" => self.outcome).increment(1);
    }
}

/// A record was understood but emits nothing.
pub struct RecordSkipped {
    /// Why.
    pub reason: SkipReason,
}

impl RecordSkipped {
    /// Counts it. Skips are routine (most updates do not change the status),
    /// so they are not logged.
    pub fn emit(self) {
        metrics::counter!(RECORDS_SKIPPED.name, "reason" => self.reason.as_str()).increment(1);
    }
}

/// The class of a quarantine, the bounded label; the detail goes to the log
/// and the quarantine table only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineReason {
    /// Not a Debezium change event we can decode.
    Malformed,
    /// Decoded, but its columns cannot be mapped onto an event.
    Unmappable,
    /// The database refused to store it.
    Rejected,
}

impl QuarantineReason {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::Malformed => "malformed",
            QuarantineReason::Unmappable => "unmappable",
            QuarantineReason::Rejected => "rejected",
        }
    }
}

/// A record was set aside in the quarantine table.
pub struct RecordQuarantined<'a> {
    /// Where it came from.
    pub position: &'a SourcePosition,
    /// Its class.
    pub reason: QuarantineReason,
    /// The detail, for the log line only. Decoder and mapper messages name
    /// fields, never their values.
    pub detail: &'a str,
}

impl RecordQuarantined<'_> {
    /// Logs and counts it.
    pub fn emit(self) {
        tracing::warn!(
            topic = %self.position.topic,
            partition = self.position.partition,
            offset = self.position.offset,
            reason = self.reason.as_str(),
            detail = %self.detail,
            "record quarantined"
        );
        metrics::counter!(RECORDS_QUARANTINED.name, "reason" => self.reason.as_str()).increment(1);
    }
}
