//! PostgreSQL: the source of truth for partners, endpoints, events, deliveries
//! and attempts. One query per named function, each taking a client or a
//! transaction, so callers choose the transaction boundaries.

pub mod api_keys;
pub mod cluster;
pub mod deliveries;
pub mod endpoints;
pub mod event_log;
pub mod health;
pub mod ingest;
pub mod listen;
pub mod migrate;
pub mod orders;
pub mod partners;
pub mod portal;
pub mod retries;
pub mod sms;
pub mod tracking;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use deadpool_postgres::{Client, Transaction};

/// Errors of the store. Callers branch on the domain variants; the rest are
/// infrastructure failures to retry or report.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had from the pool in time.
    #[error("no database connection available: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A query failed.
    #[error("database error: {}", db_detail(.0))]
    Db(#[from] tokio_postgres::Error),
    /// The partner named does not exist.
    #[error("partner {0:?} does not exist")]
    UnknownPartner(String),
    /// The endpoint named does not exist (or belongs to another partner).
    #[error("endpoint {0:?} does not exist")]
    UnknownEndpoint(String),
    /// A partner already has the maximum number of endpoints.
    #[error("partner {0:?} already has the maximum of {max} endpoints", max = endpoints::MAX_PER_PARTNER)]
    EndpointLimit(String),
    /// A partner with this id exists already.
    #[error("partner {0:?} already exists")]
    PartnerExists(String),
    /// A value stored in the database could not be read back.
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// The table holding the row.
        table: &'static str,
        /// What was wrong with it.
        message: String,
    },
}

/// The server's own message when there is one ("db error" alone says
/// nothing).
fn db_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

impl StoreError {
    /// True when the failure is about the connection or the server rather than
    /// the data: the same work may succeed when retried.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Db(e) => match e.code() {
                // No SQLSTATE: the connection itself broke.
                None => true,
                // Connection exceptions, insufficient resources, operator
                // intervention (e.g. admin shutdown), serialization failures.
                Some(code) => {
                    let c = code.code();
                    c.starts_with("08")
                        || c.starts_with("53")
                        || c.starts_with("57")
                        || c == "40001"
                        || c == "40P01"
                }
            },
            _ => false,
        }
    }
}

/// Opens a connection pool. Connections are made lazily, so this succeeds even
/// while the database is down; the first query reports it.
pub fn connect(
    url: &str,
    max_size: usize,
    connect_timeout: Duration,
) -> Result<Pool, PoolSetupError> {
    let mut pg: tokio_postgres::Config = url.parse().map_err(PoolSetupError::Url)?;
    pg.connect_timeout(connect_timeout);
    if pg.get_application_name().is_none() {
        pg.application_name("trackwire");
    }
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(connect_timeout))
        .create_timeout(Some(connect_timeout))
        .build()
        .map_err(|e| PoolSetupError::Build(e.to_string()))
}

/// The pool could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum PoolSetupError {
    /// `database.url` is not a PostgreSQL connection string.
    #[error("database.url is not a valid PostgreSQL URL: {0}")]
    Url(tokio_postgres::Error),
    /// The pool rejected its settings.
    #[error("database pool: {0}")]
    Build(String),
}
