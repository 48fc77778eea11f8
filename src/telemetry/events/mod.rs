//! Typed internal events: each struct is one thing that happened, and its
//! `emit()` writes the log line and updates the metrics together, so the two
//! never disagree and every metric name comes from
//! [`catalogue`](super::catalogue).
//!
//! Delivery events carry the event, partner and endpoint ids on their log
//! lines. None of them takes the event payload, so an OTP or an unmasked phone
//! number cannot reach a log line or a label through here.

mod delivery;
mod endpoint;
mod ingest;
mod kafka;
mod sms;

pub use delivery::{
    AttemptFinished, DeadLetterPublishFailed, DeadLetterPublished, DeadLetterSeriesStarted,
    DeliveryAcked, DeliveryDead, DeliveryRetryScheduled, OutcomeWriteFailed, OutcomesRecorded,
};
pub use endpoint::{
    AckRatioObserved, ActorRestarted, AtRiskChanged, BreakerState, BreakerStateChanged,
    EndpointDisabled, EndpointThrottled, MailboxOverflow, OverflowStage, QueueDepth,
};
pub use ingest::{
    DispatchLookedUp, EventIngested, QuarantineReason, RecordQuarantined, RecordSkipped,
};
pub use kafka::{ConsumerLag, KafkaConsumerError};
pub use sms::{SmsCounted, SmsOutcome};
