//! Kafka clients, configured from `[kafka]`.

use std::time::Duration;

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
        !k.starts_with("fetch.")
            && !k.starts_with("session.")
            && !k.starts_with("heartbeat.")
            && !k.starts_with("auto.offset.")
    });
    for (k, v) in producer_props {
        c.set(k, v);
    }
    Ok(c.create()?)
}

/// Whether the Kafka cluster answers, for readiness: a metadata request about
/// the dead-letter topic on the producer the service already has, so a probe
/// reuses its connections instead of opening one.
#[derive(Clone)]
pub struct BrokerProbe {
    producer: FutureProducer,
    topic: String,
    timeout: Duration,
}

/// Why the broker check failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerUnavailable {
    /// No broker answered the metadata request in time.
    #[error("no broker answered within {0:?}: {1}")]
    NoAnswer(Duration, rdkafka::error::KafkaError),
    /// The cluster answered but does not know the topic.
    #[error("the cluster does not know topic {topic}: {error}")]
    Topic {
        /// The topic asked about.
        topic: String,
        /// What the broker said.
        error: rdkafka::error::RDKafkaErrorCode,
    },
    /// The blocking request could not be run.
    #[error("the metadata request could not run: {0}")]
    Task(String),
}

impl BrokerProbe {
    /// A probe asking about `topic` through `producer`, waiting at most
    /// `timeout`.
    pub fn new(producer: FutureProducer, topic: String, timeout: Duration) -> Self {
        BrokerProbe {
            producer,
            topic,
            timeout,
        }
    }

    /// Asks the cluster for the topic's metadata; the number of brokers it
    /// lists on success.
    pub async fn check(&self) -> Result<usize, BrokerUnavailable> {
        let probe = self.clone();
        // librdkafka's metadata call blocks its thread.
        tokio::task::spawn_blocking(move || probe.check_blocking())
            .await
            .map_err(|e| BrokerUnavailable::Task(e.to_string()))?
    }

    fn check_blocking(&self) -> Result<usize, BrokerUnavailable> {
        use rdkafka::producer::Producer;
        let metadata = self
            .producer
            .client()
            .fetch_metadata(Some(&self.topic), self.timeout)
            .map_err(|e| BrokerUnavailable::NoAnswer(self.timeout, e))?;
        if let Some(error) = metadata
            .topics()
            .iter()
            .find(|t| t.name() == self.topic)
            .and_then(|t| t.error())
        {
            return Err(BrokerUnavailable::Topic {
                topic: self.topic.clone(),
                error: error.into(),
            });
        }
        Ok(metadata.brokers().len())
    }
}
