//! The OMS side: Debezium change events of new orders, produced into the CDC
//! topic at a fixed rate or as fast as the producer takes them.
//!
//! Event `i` is order `o{i}` of partner `i % partners`, created in
//! `CONFIRMED`, so it becomes exactly one `order_confirmed` event. The time
//! each record was handed to the producer is kept: it is the record's
//! timestamp in Kafka and the start of its end-to-end latency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::ClientConfig;

use super::{BenchError, Clock};
use crate::dev::feed;

/// What to produce.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Partner ids; event `i` belongs to `partners[i % len]`.
    pub partners: Vec<String>,
    /// How many events.
    pub count: usize,
    /// Events per second; `None` is as fast as possible.
    pub rate: Option<f64>,
    /// Order id prefix: `o` for measured events, `w` for the warm-up.
    pub prefix: char,
}

/// A producer of CDC records.
pub struct CdcProducer {
    producer: FutureProducer,
    topic: String,
    clock: Clock,
    /// Records handed to the producer so far, for the progress line.
    pub produced: Arc<AtomicUsize>,
}

impl CdcProducer {
    /// A producer for `topic` on `brokers`.
    pub fn new(brokers: &str, topic: &str, clock: Clock) -> Result<Self, BenchError> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("linger.ms", "1")
            .set("queue.buffering.max.messages", "1000000")
            .create()
            .map_err(|e| BenchError::new(format!("CDC producer: {e}")))?;
        Ok(CdcProducer {
            producer,
            topic: topic.to_owned(),
            clock,
            produced: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Produces `plan`; returns when each record was handed over (clock
    /// nanoseconds, by event number), once all are acknowledged by the broker.
    pub async fn run(&self, plan: &Plan) -> Result<Vec<u64>, BenchError> {
        self.produced.store(0, Ordering::Relaxed);
        let mut sent_at = Vec::with_capacity(plan.count);
        let mut acks = Vec::with_capacity(plan.count);
        let start = self.clock.now_ns();
        for i in 0..plan.count {
            if let Some(rate) = plan.rate {
                let due = start + (i as f64 * 1e9 / rate) as u64;
                let now = self.clock.now_ns();
                if due > now + 200_000 {
                    tokio::time::sleep(Duration::from_nanos(due - now)).await;
                }
            }
            let partner = &plan.partners[i % plan.partners.len()];
            let order = format!("{}{i}", plan.prefix);
            let row = feed::new_order(&order, partner);
            let value = feed::change_event("c", None, Some(&row), i as u64 + 1, false);
            let key = feed::key(&order);
            loop {
                let at = self.clock.now_ns();
                let record = FutureRecord::to(&self.topic)
                    .key(&key)
                    .payload(&value)
                    .timestamp(chrono::Utc::now().timestamp_millis());
                match self.producer.send_result(record) {
                    Ok(ack) => {
                        sent_at.push(at);
                        acks.push(ack);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err((e, _)) => return Err(BenchError::new(format!("produce: {e}"))),
                }
            }
            self.produced.fetch_add(1, Ordering::Relaxed);
            if plan.rate.is_none() && i % 1000 == 999 {
                // Let the sinks and the progress line run on this thread too.
                tokio::task::yield_now().await;
            }
        }
        for ack in acks {
            match ack.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(BenchError::new(format!("produce: {e}"))),
                Err(_) => return Err(BenchError::new("produce: delivery report lost")),
            }
        }
        let _ = self.producer.flush(Duration::from_secs(5));
        Ok(sent_at)
    }
}
