//! The CDC consumer: errors and lag.

use rdkafka::error::KafkaError;

use crate::telemetry::catalogue::{KAFKA_CONSUMER_ERRORS, KAFKA_CONSUMER_LAG};

/// The consumer returned an error while polling.
pub struct KafkaConsumerError<'a> {
    /// The error.
    pub error: &'a KafkaError,
}

impl KafkaConsumerError<'_> {
    /// Counts and logs it.
    pub fn emit(self) {
        metrics::counter!(KAFKA_CONSUMER_ERRORS.name).increment(1);
        tracing::warn!(error = %self.error, "kafka consumer error");
    }
}

/// How far the consumer is behind on one partition.
pub struct ConsumerLag<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// Records not yet stored, 0 when the partition was revoked.
    pub lag: i64,
}

impl ConsumerLag<'_> {
    /// Sets the gauge.
    pub fn emit(self) {
        metrics::gauge!(
            KAFKA_CONSUMER_LAG.name,
            "topic" => self.topic.to_owned(),
            "partition" => self.partition.to_string(),
        )
        .set(self.lag as f64);
    }
}
