//! Why the service could not start, or stopped with an error.

use crate::kafka::KafkaSetupError;
use crate::store::{PoolSetupError, StoreError};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The pool could not be configured.
    #[error(transparent)]
    Pool(#[from] PoolSetupError),
    /// The database could not be reached at start-up.
    #[error("cannot reach the database at start-up: {0}")]
    Database(#[from] StoreError),
    /// The schema is older than this build.
    #[error("the database schema is at version {found}, this build needs {needed}: run `trackwire migrate` (or `trackwire run --migrate`)")]
    SchemaBehind {
        /// Applied version.
        found: i32,
        /// Needed version.
        needed: i32,
    },
    /// A Kafka client could not be created or subscribed.
    #[error(transparent)]
    Kafka(#[from] KafkaSetupError),
    /// The metrics exporter could not be installed.
    #[error(transparent)]
    Metrics(#[from] crate::telemetry::exporter::ExporterError),
    /// `dispatch.url` cannot be used.
    #[error(transparent)]
    Dispatch(#[from] crate::dispatch::DispatchSetupError),
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}
