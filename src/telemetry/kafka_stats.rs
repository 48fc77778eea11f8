//! Consumer lag from librdkafka's own statistics: the client already knows
//! each assigned partition's high watermark and stored offset, so reading its
//! periodic statistics costs no broker round trip (unlike polling
//! `fetch_watermarks`, which blocks).

use std::collections::HashSet;
use std::sync::Mutex;

use rdkafka::consumer::ConsumerContext;
use rdkafka::{ClientContext, Statistics};

use super::events::ConsumerLag;

/// How often librdkafka reports statistics, in milliseconds. A
/// `kafka.properties."statistics.interval.ms"` entry overrides it.
pub const STATISTICS_INTERVAL_MS: &str = "5000";

/// The CDC consumer's context: turns statistics into lag gauges.
#[derive(Default)]
pub struct ConsumerTelemetry {
    /// Partitions given a lag in the last report, so that a partition moved
    /// to another instance is set to 0 here and the group's sum stays right.
    reported: Mutex<HashSet<(String, i32)>>,
}

impl ClientContext for ConsumerTelemetry {
    fn stats(&self, statistics: Statistics) {
        let mut now = HashSet::new();
        for (topic, t) in &statistics.topics {
            for (&partition, p) in &t.partitions {
                // Partition -1 is librdkafka's internal "unassigned" queue;
                // a negative lag means not known yet (nothing fetched or
                // stored since the assignment).
                if partition < 0 || p.consumer_lag_stored < 0 {
                    continue;
                }
                ConsumerLag {
                    topic,
                    partition,
                    lag: p.consumer_lag_stored,
                }
                .emit();
                now.insert((topic.clone(), partition));
            }
        }
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        for (topic, partition) in reported.difference(&now) {
            ConsumerLag {
                topic,
                partition: *partition,
                lag: 0,
            }
            .emit();
        }
        *reported = now;
    }
}

impl ConsumerContext for ConsumerTelemetry {}
