//! `trackwire demo`: a working set-up on one machine, shown as a tour. It
//! hosts a broker, registers a demo partner (built-in tracking on) with two
//! endpoints, a local receiver that checks every signature and one that
//! fails now and then, feeds order changes through the CDC topic, runs the
//! service, and prints the links to see it work: the portal, the event log,
//! endpoint health, orders and a tracking page, metrics and the API spec.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use super::broker::DevBroker;
use super::feed::{self, OrderRow};
use super::receivers::{Printing, Receivers};
use super::{DemoArgs, DevError};
use crate::config::{Config, LogConfig};
use crate::endpoint_url::EndpointUrl;
use crate::schema::EventType;
use crate::store::{self, endpoints, partners, tracking, StoreError};
use crate::webhook::SigningSecret;

/// The demo partner's id.
pub const PARTNER: &str = "demo-shop";

/// Dependencies that announce their start-up at `info` (actix-server's
/// workers, librdkafka's clients): kept to warnings in the demo so that
/// trackwire's own lines stay readable.
const QUIET_DEPENDENCIES: &str = "actix_server=warn,actix_web=warn,rdkafka=warn,librdkafka=warn";

/// The demo's log filter: `log.level` with the dependencies kept quiet
/// (`RUST_LOG` still wins over both).
pub fn quiet_dependencies(log: &mut LogConfig) {
    log.level = format!("{},{QUIET_DEPENDENCIES}", log.level);
}

/// Runs the demo until interrupted.
pub async fn run(mut config: Config, args: &DemoArgs) -> Result<(), DevError> {
    let broker = DevBroker::start(
        1,
        &[(&config.kafka.cdc_topic, 4), (&config.kafka.dlq_topic, 1)],
    )?;
    config.kafka.brokers = broker.bootstrap_servers().to_owned();
    config.kafka.brokers_file = None;
    tune_for_demo(&mut config);
    crate::app::migrate(&config).await?;
    let verified_url = format!("http://127.0.0.1:{}/webhooks", args.receiver_port);
    let failing_url = format!("http://127.0.0.1:{}/flaky", args.failing_receiver_port);
    let secrets = seed(&config, &verified_url, &failing_url).await?;
    let printing = Printing::default();
    let receivers = Receivers::start(
        args.receiver_port,
        args.failing_receiver_port,
        secrets,
        printing.clone(),
    )?;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .create()
        .map_err(DevError::Producer)?;
    let feed = actix_rt::spawn(run_feed(
        producer,
        config.kafka.cdc_topic.clone(),
        Duration::from_secs_f64(args.every.max(0.05)),
    ));
    let endpoints = [
        format!("{verified_url}  (verifies every signature)"),
        format!("{failing_url}  (fails now and then: retries, dead letters, breaker)"),
    ];
    let tour = actix_rt::spawn(show_tour(config.clone(), endpoints, printing));
    let result = crate::app::run(config, false, crate::telemetry::shutdown_signal()).await;
    tour.abort();
    feed.abort();
    receivers.stop().await;
    drop(broker);
    Ok(result?)
}

/// Prints the tour banner once the service answers, then lets the receivers
/// print.
async fn show_tour(config: Config, endpoints: [String; 2], printing: Printing) {
    match super::tour::links(&config, PARTNER).await {
        Ok(links) => println!("\n{}\n", links.banner(PARTNER, &endpoints)),
        Err(error) => tracing::warn!(%error, "the demo tour cannot be shown"),
    }
    printing.start();
}

/// Settings that make a local demo lively; they apply to the demo only.
fn tune_for_demo(config: &mut Config) {
    // The mock cluster holds a fetch for its whole wait even when records
    // arrive (a real broker answers at once); keep the demo snappy.
    config
        .kafka
        .properties
        .entry("fetch.wait.max.ms".to_owned())
        .or_insert_with(|| "10".to_owned());
    // A demo killed without shutting down must not keep its successor
    // waiting for the default lease.
    config.cluster.lease = config.cluster.lease.min(Duration::from_secs(3));
    config.cluster.heartbeat = config.cluster.heartbeat.min(Duration::from_secs(1));
    if !config
        .delivery
        .allow_insecure_hosts
        .iter()
        .any(|h| h == "127.0.0.1")
    {
        config
            .delivery
            .allow_insecure_hosts
            .push("127.0.0.1".to_owned());
    }
    // Seconds instead of minutes, so that a retry, a dead letter, an open
    // breaker and the at-risk flag all show within the first two minutes.
    config.delivery.retry_schedule = [2, 5, 10].map(Duration::from_secs).to_vec();
    // The failing endpoint's outage opens the breaker (failures in a row),
    // not the few orders it always refuses.
    config.breaker.min_attempts = config.breaker.window;
    config.breaker.cooldown = Duration::from_secs(10);
    config.breaker.max_cooldown = Duration::from_secs(20);
    config.health.at_risk_min_attempts = 10;
    config.health.at_risk_open_after = Duration::from_secs(20);
    config.health.snapshot_interval = Duration::from_secs(2);
}

/// Creates the demo partner (built-in tracking on) and its two endpoints
/// unless they exist; returns the verifying endpoint's signing secrets.
async fn seed(
    config: &Config,
    verified_url: &str,
    failing_url: &str,
) -> Result<Vec<SigningSecret>, DevError> {
    let pool = store::connect(&config.database.url, 1, config.database.connect_timeout)
        .map_err(crate::app::RunError::from)?;
    let mut client = pool.get().await.map_err(StoreError::from)?;
    if partners::get(&**client, PARTNER).await?.is_none() {
        partners::insert(&**client, PARTNER, "Demo Shop").await?;
    }
    tracking::set_enabled(&**client, PARTNER, true).await?;
    let hosts = &config.delivery.allow_insecure_hosts;
    let failing = EndpointUrl::parse(failing_url, hosts)?;
    endpoint(
        &mut client,
        &failing,
        "demo receiver that fails now and then",
    )
    .await?;
    let verified = EndpointUrl::parse(verified_url, hosts)?;
    endpoint(&mut client, &verified, "demo receiver").await
}

/// The demo partner's endpoint at `url`, registered unless it exists; its
/// signing secrets.
async fn endpoint(
    client: &mut store::Client,
    url: &EndpointUrl,
    description: &str,
) -> Result<Vec<SigningSecret>, DevError> {
    let existing = endpoints::list_for_partner(&***client, PARTNER).await?;
    if let Some(ep) = existing.into_iter().find(|e| e.url == url.as_str()) {
        return Ok(ep.secrets);
    }
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let (ep, _) = endpoints::insert(
        &*tx,
        &endpoints::NewEndpoint {
            partner_id: PARTNER,
            url: url.as_str(),
            description,
            event_types: &EventType::ALL,
            schema_version: crate::schema::SchemaVersion::LATEST,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(ep.secrets)
}

/// Order lifecycles, one status change every `every`.
async fn run_feed(producer: FutureProducer, topic: String, every: Duration) {
    let journeys: [&[&str]; 3] = [
        &["OUT_FOR_DELIVERY", "DELIVERED"],
        &[
            "OUT_FOR_DELIVERY",
            "DELIVERY_FAILED",
            "OUT_FOR_DELIVERY",
            "DELIVERED",
        ],
        &[
            "OUT_FOR_DELIVERY",
            "DELIVERED",
            "RETURN_INITIATED",
            "RETURN_PICKED_UP",
        ],
    ];
    let mut active: Vec<(OrderRow, &[&str])> = Vec::new();
    let mut next_order = 1001u32;
    let mut position = chrono::Utc::now().timestamp_millis() as u64;
    loop {
        position += 1;
        let (op, before, after) = if active.len() < 3 {
            let row = feed::new_order(&format!("ORD-{next_order}"), PARTNER);
            let journey = journeys[next_order as usize % journeys.len()];
            next_order += 1;
            active.push((row.clone(), journey));
            ("c", None, row)
        } else {
            let i = rand::random::<usize>() % active.len();
            let (row, rest) = &mut active[i];
            let next = feed::advance(row, rest[0], chrono::Utc::now());
            let before = std::mem::replace(row, next.clone());
            *rest = &rest[1..];
            if rest.is_empty() {
                active.remove(i);
            }
            ("u", Some(before), next)
        };
        let value = feed::change_event(op, before.as_ref(), Some(&after), position, true);
        let key = feed::key(&after.id);
        let record = FutureRecord::to(&topic).key(&key).payload(&value);
        if let Err((error, _)) = producer.send(record, Duration::from_secs(5)).await {
            tracing::warn!(%error, "demo feed could not publish");
        }
        tokio::time::sleep(every).await;
    }
}
