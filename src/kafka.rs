//! Kafka clients, configured from `[kafka]`.

use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;

use crate::config::{ConfigError, KafkaConfig};
use crate::telemetry::kafka_stats::{ConsumerTelemetry, STATISTICS_INTERVAL_MS};

/// The CDC consumer, reporting its lag through [`ConsumerTelemetry`].
pub type CdcConsumer = StreamConsumer<ConsumerTelemetry>;

/// A Kafka client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    /// The bootstrap servers could not be determined.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// librdkafka rejected the settings (an unknown or invalid property).
    #[error("kafka client settings rejected: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
}

fn base(cfg: &KafkaConfig) -> Result<ClientConfig, KafkaSetupError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", cfg.bootstrap_servers()?);
    c.set("client.id", "trackwire");
    Ok(c)
}

fn with_properties(mut c: ClientConfig, cfg: &KafkaConfig) -> ClientConfig {
    for (k, v) in &cfg.properties {
        c.set(k, v);
    }
    c
}

/// The CDC consumer: a member of `kafka.group_id`. Offsets are stored by
/// trackwire only once a record's event and deliveries are durable, and
/// committed from there.
pub fn consumer(cfg: &KafkaConfig) -> Result<CdcConsumer, KafkaSetupError> {
    let mut c = base(cfg)?;
    c.set("group.id", &cfg.group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set(
            "session.timeout.ms",
            cfg.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (cfg.session_timeout.as_millis() / 3).max(100).to_string(),
        )
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
    Ok(with_properties(c, cfg).create_with_context(ConsumerTelemetry::default())?)
}

/// The producer for dead letters: idempotent, acknowledged by all replicas.
pub fn producer(cfg: &KafkaConfig) -> Result<FutureProducer, KafkaSetupError> {
    let mut c = base(cfg)?;
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "30000");
    // Consumer-only properties would make the producer refuse to start.
    let producer_props = cfg.properties.iter().filter(|(k, _)| {
        !k.starts_with("fetch.") && !k.starts_with("session.") && !k.starts_with("heartbeat.")
    });
    for (k, v) in producer_props {
        c.set(k, v);
    }
    Ok(c.create()?)
}
