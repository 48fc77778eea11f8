//! What can stop a development command: the dev broker or the demo. The
//! CLI prints these as they are; each says what went wrong in plain words.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::app::RunError;
use crate::endpoint_url::InvalidUrl;
use crate::store::StoreError;

use super::broker::DevBrokerError;

/// A development command failed.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The service's parts could not be set up.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The in-process broker failed.
    #[error(transparent)]
    Broker(#[from] DevBrokerError),
    /// A demo endpoint's URL was refused (the receiver ports make it).
    #[error("demo: endpoint URL: {0}")]
    Url(#[from] InvalidUrl),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The demo feed could not make its Kafka producer.
    #[error("demo: feed producer: {0}")]
    Producer(#[source] rdkafka::error::KafkaError),
    /// A demo receiver could not bind its port.
    #[error("demo: cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        /// The port asked for.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// The service the tour links to never answered.
    #[error("demo: the service did not answer on {listen} within {seconds}s")]
    ServiceSilent {
        /// Where it should listen.
        listen: SocketAddr,
        /// How long the tour waited.
        seconds: u64,
    },
}
