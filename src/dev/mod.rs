//! Local development: a Kafka-protocol broker, a feed of OMS order changes in
//! Debezium format, and the demo that puts them together.

pub mod broker;
pub mod demo;
mod error;
pub mod feed;
pub mod receivers;
pub mod tour;

use std::path::PathBuf;

use clap::Args;

use crate::config::Config;
use broker::DevBroker;

pub use error::DevError;

/// `dev-broker` options.
#[derive(Debug, Args)]
pub struct DevBrokerArgs {
    /// Partitions of the CDC topic.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(i32).range(1..=256))]
    pub partitions: i32,
    /// Brokers in the cluster.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=5))]
    pub brokers: i32,
}

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the demo partner's receiver on 127.0.0.1.
    #[arg(long, default_value_t = 9900)]
    pub receiver_port: u16,
    /// Port of the demo partner's second receiver, which fails now and then.
    #[arg(long, default_value_t = 9901)]
    pub failing_receiver_port: u16,
    /// Seconds between order status changes in the demo feed.
    #[arg(long, default_value_t = 2.0)]
    pub every: f64,
}

/// Where `dev-broker` writes its address when `kafka.brokers_file` is unset.
pub const DEFAULT_BROKERS_FILE: &str = ".trackwire/dev-broker";

/// `trackwire dev-broker`: hosts the mock cluster with the CDC and dead-letter
/// topics until interrupted, with its address in `kafka.brokers_file` so that
/// `trackwire run` (and kcat) find it.
pub async fn run_broker(config: &Config, args: &DevBrokerArgs) -> Result<(), DevError> {
    let broker = DevBroker::start(
        args.brokers,
        &[
            (&config.kafka.cdc_topic, args.partitions),
            (&config.kafka.dlq_topic, 1),
        ],
    )?;
    let path = config
        .kafka
        .brokers_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BROKERS_FILE));
    let io = |source| DevError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(&path, broker.bootstrap_servers()).map_err(io)?;
    println!(
        "dev broker listening on {} (topics {} with {} partitions, {}); address written to {}",
        broker.bootstrap_servers(),
        config.kafka.cdc_topic,
        args.partitions,
        config.kafka.dlq_topic,
        path.display()
    );
    crate::telemetry::shutdown_signal().await;
    let _ = std::fs::remove_file(&path);
    drop(broker);
    Ok(())
}
