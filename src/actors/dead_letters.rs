//! The dead-letter topic: every delivery that ran out of attempts or of time
//! is published there, with the event and why it died.

use std::time::Duration;

use chrono::Utc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use serde::Serialize;

use crate::store::deliveries::PendingDelivery;
use crate::store::endpoints::Endpoint;

/// A dead letter, as published.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    /// The dead delivery.
    pub delivery_id: i64,
    /// Its endpoint.
    pub endpoint_id: &'a str,
    /// The partner owning the endpoint.
    pub partner_id: &'a str,
    /// The event (also the record key).
    pub event_id: &'a str,
    /// Attempts made.
    pub attempts: i32,
    /// Why it is dead.
    pub reason: &'a str,
    /// When it was declared dead, RFC 3339.
    pub dead_at: String,
    /// The payload as the endpoint would have received it.
    pub payload: serde_json::Value,
}

/// Publishes dead letters. Cheap to clone.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetters {
    /// A publisher to `topic` through `producer`.
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        DeadLetters { producer, topic }
    }

    /// Publishes one dead letter and waits for the broker's acknowledgement.
    pub async fn publish(
        &self,
        endpoint: &Endpoint,
        delivery: &PendingDelivery,
        reason: &str,
    ) -> Result<(), rdkafka::error::KafkaError> {
        let body = crate::schema::render(&delivery.event, endpoint.schema_version);
        let letter = DeadLetter {
            delivery_id: delivery.id,
            endpoint_id: &endpoint.id,
            partner_id: &endpoint.partner_id,
            event_id: &delivery.event.event_id,
            attempts: delivery.attempts,
            reason,
            dead_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            payload: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        };
        let bytes = serde_json::to_vec(&letter).unwrap_or_default();
        let record = FutureRecord::to(&self.topic)
            .key(delivery.event.event_id.as_str())
            .payload(&bytes);
        self.producer
            .send(record, Timeout::After(Duration::from_secs(10)))
            .await
            .map(|_| ())
            .map_err(|(error, _)| error)
    }
}
