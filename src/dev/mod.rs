//! Local development: a Kafka-protocol broker, a feed of OMS order changes in
//! Debezium format, and the demo that puts them together.

pub mod broker;
pub mod demo;
pub mod feed;
pub mod receivers;
pub mod tour;

use std::path::PathBuf;

use crate::cli::{CliError, DevBrokerArgs};
use crate::config::Config;
use broker::DevBroker;

/// Where `dev-broker` writes its address when `kafka.brokers_file` is unset.
pub const DEFAULT_BROKERS_FILE: &str = ".trackwire/dev-broker";

/// `trackwire dev-broker`: hosts the mock cluster with the CDC and dead-letter
/// topics until interrupted, with its address in `kafka.brokers_file` so that
/// `trackwire run` (and kcat) find it.
pub async fn run_broker(config: &Config, args: &DevBrokerArgs) -> Result<(), CliError> {
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
    let io = |source| CliError::Io {
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
