//! Assembles the service from its parts, runs it, and stops the parts in
//! the documented order (see [`run`]).
//!
//! - [`delivery`]: the worker threads, their recorders and HTTP clients, the
//!   router and its endpoint actors, the dead-letter producer;
//! - [`membership`]: this process's place in the cluster (its shards);
//! - [`intake`]: what brings work in: CDC ingest, endpoint changes, the SMS
//!   sender;
//! - [`surfaces`]: the API and portal server, and the metrics endpoint.

mod delivery;
mod error;
mod intake;
mod membership;
mod surfaces;

use tokio::sync::watch;

use crate::config::Config;
use crate::store::{self, migrate, StoreError};

pub use error::RunError;

use delivery::Delivery;
use intake::Intake;
use membership::Membership;
use surfaces::Surfaces;

/// Applies pending migrations; returns the versions applied.
pub async fn migrate(config: &Config) -> Result<Vec<i32>, RunError> {
    let pool = store::connect(&config.database.url, 1, config.database.connect_timeout)?;
    let mut client = pool.get().await.map_err(StoreError::from)?;
    let applied = migrate::run(&mut client).await.map_err(StoreError::from)?;
    Ok(applied)
}

/// Runs the service until `stop` resolves (a signal, in the binary).
///
/// The parts start in this order: metrics first (so everything after is
/// counted), the store (its schema checked), delivery, cluster
/// membership, intake, then the HTTP surfaces.
///
/// They stop in this order, which is the service's shutdown contract:
/// 1. intake stops: ingest commits the batch it holds and stops consuming
///    (offsets only ever follow a commit), the endpoint-change listener and
///    the SMS sender stop;
/// 2. attempts under way finish and are recorded (bounded by the attempt
///    timeout, at most 30 s); what has not started stays pending in the
///    store;
/// 3. the process leaves the cluster, giving its shards back, so another
///    member takes them without waiting for the lease;
/// 4. the API, portal and metrics servers stop;
/// 5. the recorders write what they still hold (at most 5 s; anything not
///    written is delivered again after a restart: at least once);
/// 6. the worker threads stop.
pub async fn run(
    config: Config,
    migrate_first: bool,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    if migrate_first {
        migrate_and_log(&config).await?;
    }
    let metrics = crate::telemetry::exporter::install()?;
    let pool = open_store(&config).await?;
    let delivery = Delivery::start(&config, &pool)?;
    let (shutdown, stopping) = watch::channel(false);
    let membership = Membership::join(&config, &pool, &delivery);
    let intake = Intake::start(&config, &pool, &delivery, stopping)?;
    let surfaces = Surfaces::start(&config, &pool, &delivery, metrics)?;
    tracing::info!(
        addr = %config.http.listen,
        metrics_addr = %config.metrics.listen,
        workers = delivery.worker_count(),
        topic = %config.kafka.cdc_topic,
        "trackwire running"
    );

    stop.await;
    tracing::info!("shutting down");
    let _ = shutdown.send(true);
    intake.stopped().await;
    delivery.finish_attempts().await;
    membership.leave().await;
    surfaces.stop().await;
    delivery.stop().await;
    Ok(())
}

async fn migrate_and_log(config: &Config) -> Result<(), RunError> {
    let applied = migrate(config).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(())
}

/// The connection pool, once the schema is known to be this build's.
async fn open_store(config: &Config) -> Result<deadpool_postgres::Pool, RunError> {
    let pool = store::connect(
        &config.database.url,
        config.database.pool_size,
        config.database.connect_timeout,
    )?;
    let client = pool.get().await.map_err(StoreError::from)?;
    let found = migrate::current_version(&client)
        .await
        .map_err(StoreError::from)?
        .unwrap_or(0);
    if found < migrate::latest_version() {
        return Err(RunError::SchemaBehind {
            found,
            needed: migrate::latest_version(),
        });
    }
    Ok(pool)
}
