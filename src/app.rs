//! Assembles and runs the service: store, delivery workers, router, change
//! listener, ingest and the HTTP server, and stops them in order.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rdkafka::consumer::Consumer;
use tokio::sync::watch;

use crate::actors::dead_letters::DeadLetters;
use crate::actors::endpoint::{SsrfGuard, WebhookClient};
use crate::actors::recorder::{Drain, Recorder};
use crate::actors::router::{Quiesce, Router, Worker};
use crate::actors::DeliveryDeps;
use crate::config::Config;
use crate::ingest::{mapping::Mapper, Ingest};
use crate::kafka::{self, KafkaSetupError};
use crate::store::{self, migrate, PoolSetupError, StoreError};

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

/// Applies pending migrations; returns the versions applied.
pub async fn migrate(config: &Config) -> Result<Vec<i32>, RunError> {
    let pool = store::connect(&config.database.url, 1, config.database.connect_timeout)?;
    let mut client = pool.get().await.map_err(StoreError::from)?;
    let applied = migrate::run(&mut client).await.map_err(StoreError::from)?;
    Ok(applied)
}

/// Runs the service until `stop` resolves (a signal, in the binary).
pub async fn run(
    config: Config,
    migrate_first: bool,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    if migrate_first {
        let applied = migrate(&config).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
    }
    // First, so that everything below is counted from the start.
    let metrics = crate::telemetry::exporter::install()?;
    let pool = store::connect(
        &config.database.url,
        config.database.pool_size,
        config.database.connect_timeout,
    )?;
    {
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
    }

    let producer = kafka::producer(&config.kafka)?;
    let broker = kafka::BrokerProbe::new(
        producer.clone(),
        config.kafka.dlq_topic.clone(),
        crate::http::health::CHECK_TIMEOUT,
    );
    let dead_letters = DeadLetters::new(producer, config.kafka.dlq_topic.clone());
    let deps = DeliveryDeps::new(pool.clone(), &config, dead_letters);
    let delivery = deps.config.clone();
    let guard = SsrfGuard::new(&delivery.allow_insecure_hosts);

    let worker_count = match delivery.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let arbiters: Vec<Arbiter> = (0..worker_count).map(|_| Arbiter::new()).collect();
    // One limit for the whole process, whichever worker an endpoint is on.
    let slots = Arc::new(tokio::sync::Semaphore::new(delivery.max_attempts_in_flight));
    let workers: Vec<Worker> = arbiters
        .iter()
        .map(|arbiter| {
            let pool = pool.clone();
            Worker {
                arbiter: arbiter.handle(),
                http: WebhookClient::new(
                    guard.clone(),
                    delivery.connect_timeout,
                    delivery.attempt_timeout,
                    delivery.response_excerpt_bytes,
                )
                .with_slots(slots.clone()),
                recorder: Recorder::start_in_arbiter(&arbiter.handle(), move |_| {
                    Recorder::new(pool)
                }),
            }
        })
        .collect();
    let recorders: Vec<_> = workers.iter().map(|w| w.recorder.clone()).collect();
    // No endpoint runs here until the cluster has assigned this process its
    // shards. Changes arrive as notifications (and a full look after every
    // reconnection of the listener); the periodic reload is only a safety
    // net, rare because it reads every endpoint.
    let router = Router::sharded(
        deps,
        workers,
        Duration::from_secs(300),
        config.cluster.shards,
        None,
    )
    .start();

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // The cluster membership outlives the rest of the shutdown: shards are
    // given back only once their attempts have finished.
    let (leave_tx, leave_rx) = watch::channel(false);
    let membership = actix_rt::spawn(crate::cluster::run(
        pool.clone(),
        config.cluster.clone(),
        delivery.attempt_timeout,
        router.clone(),
        leave_rx,
    ));
    let listener = actix_rt::spawn(store::listen::follow_endpoint_changes(
        config.database.url.clone(),
        router.clone(),
        shutdown_rx.clone(),
    ));

    // Validated at load, so a template that does not parse cannot happen here.
    let tracking_url = config
        .schema
        .tracking_url_template
        .as_deref()
        .and_then(|t| crate::schema::TrackingUrlTemplate::parse(t).ok());
    let dispatch = crate::dispatch::Dispatch::from_config(&config.dispatch)?;
    let consumer = kafka::consumer(&config.kafka)?;
    consumer
        .subscribe(&[&config.kafka.cdc_topic])
        .map_err(|e| RunError::Kafka(KafkaSetupError::Client(e)))?;
    let ingest = Ingest::new(
        consumer,
        pool.clone(),
        Mapper::new(&config.cdc).with_tracking_url(tracking_url),
        router.clone(),
        config.kafka.batch_size,
        config.kafka.batch_linger,
        config.http.tracking_pages(),
    );
    let ingest = ingest
        .with_dispatch(dispatch)
        .with_lanes(config.kafka.ingest_lanes);
    let sms_sender =
        crate::sms::sender::spawn_from_config(pool.clone(), &config, shutdown_rx.clone());
    let ingest = actix_rt::spawn(ingest.run(shutdown_rx));

    let addr = config.http.listen;
    let tcp = TcpListener::bind(addr).map_err(|source| RunError::Listen { addr, source })?;
    let http = crate::http::server(
        tcp,
        crate::http::AppState {
            pool: pool.clone(),
            router: router.clone(),
            broker,
            api: Arc::new(crate::http::ApiSettings::from_config(&config)),
        },
    )
    .map_err(|source| RunError::Listen { addr, source })?;
    let http_handle = http.handle();
    let http_task = actix_rt::spawn(http);
    let metrics_addr = config.metrics.listen;
    let scrape = TcpListener::bind(metrics_addr)
        .and_then(|tcp| crate::telemetry::exporter::server(tcp, metrics))
        .map_err(|source| RunError::Listen {
            addr: metrics_addr,
            source,
        })?;
    let scrape_handle = scrape.handle();
    let scrape_task = actix_rt::spawn(scrape);
    tracing::info!(%addr, %metrics_addr, workers = worker_count, topic = %config.kafka.cdc_topic, "trackwire running");

    stop.await;
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), ingest).await;
    let _ = listener.await;
    if let Some(sender) = sms_sender {
        let _ = tokio::time::timeout(Duration::from_secs(10), sender).await;
    }
    // Attempts under way finish (bounded by the attempt timeout) and are
    // recorded; what has not started stays pending in the store.
    let in_flight = router.send(Quiesce).await.unwrap_or_default();
    crate::cluster::wait_idle(
        &in_flight,
        delivery.attempt_timeout.min(Duration::from_secs(30)),
    )
    .await;
    let _ = leave_tx.send(true);
    let _ = membership.await;
    http_handle.stop(true).await;
    let _ = http_task.await;
    scrape_handle.stop(true).await;
    let _ = scrape_task.await;
    // Give the recorders a moment to write what they hold; anything not
    // written is delivered again after restart (at least once).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    for r in &recorders {
        while !matches!(r.send(Drain).await, Ok(true) | Err(_))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for a in &arbiters {
        a.stop();
    }
    Ok(())
}
