//! `trackwire demo`: a working set-up on one machine. It hosts a broker,
//! registers a demo partner whose endpoint is a local receiver that checks
//! every signature, feeds order changes through the CDC topic, and runs the
//! service, so a person sees signed webhooks arrive.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use super::broker::DevBroker;
use super::feed::{self, OrderRow};
use crate::cli::{CliError, DemoArgs};
use crate::config::Config;
use crate::endpoint_url::EndpointUrl;
use crate::schema::EventType;
use crate::store::{self, endpoints, partners, StoreError};
use crate::webhook::{self, SigningSecret};

/// The demo partner's id.
pub const PARTNER: &str = "demo-shop";

/// Runs the demo until interrupted.
pub async fn run(mut config: Config, args: &DemoArgs) -> Result<(), CliError> {
    let broker = DevBroker::start(
        1,
        &[(&config.kafka.cdc_topic, 4), (&config.kafka.dlq_topic, 1)],
    )?;
    config.kafka.brokers = broker.bootstrap_servers().to_owned();
    config.kafka.brokers_file = None;
    // The mock cluster holds a fetch for its whole wait even when records
    // arrive (a real broker answers at once); keep the demo snappy.
    config
        .kafka
        .properties
        .entry("fetch.wait.max.ms".to_owned())
        .or_insert_with(|| "10".to_owned());
    // A demo killed without shutting down must not keep its successor
    // waiting for the default lease.
    config.cluster.lease = config.cluster.lease.min(std::time::Duration::from_secs(3));
    config.cluster.heartbeat = config
        .cluster
        .heartbeat
        .min(std::time::Duration::from_secs(1));
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
    crate::app::migrate(&config).await?;
    let url = format!("http://127.0.0.1:{}/webhooks", args.receiver_port);
    let secrets = seed(&config, &url).await?;

    let receiver = HttpServer::new({
        let secrets = Arc::new(secrets);
        move || {
            App::new()
                .app_data(web::Data::new(secrets.clone()))
                .route("/webhooks", web::post().to(receive))
        }
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", args.receiver_port))
    .map_err(|e| {
        CliError::Demo(format!(
            "cannot listen on 127.0.0.1:{}: {e}",
            args.receiver_port
        ))
    })?
    .run();
    let receiver_handle = receiver.handle();
    actix_rt::spawn(receiver);

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .create()
        .map_err(|e| CliError::Demo(format!("feed producer: {e}")))?;
    let feed = actix_rt::spawn(run_feed(
        producer,
        config.kafka.cdc_topic.clone(),
        Duration::from_secs_f64(args.every.max(0.05)),
    ));

    println!("trackwire demo");
    println!("  broker      {}", broker.bootstrap_servers());
    println!("  partner     {PARTNER}, endpoint {url} (all event types)");
    println!("  service     http://{}/health/ready", config.http.listen);
    println!("  Ctrl-C stops. Each line below is a signed webhook received and verified.\n");
    let result = crate::app::run(config, false, crate::telemetry::shutdown_signal()).await;
    feed.abort();
    receiver_handle.stop(false).await;
    drop(broker);
    Ok(result?)
}

/// Creates the demo partner and endpoint unless they exist; returns the
/// endpoint's signing secrets.
async fn seed(config: &Config, url: &str) -> Result<Vec<SigningSecret>, CliError> {
    let url = EndpointUrl::parse(url, &config.delivery.allow_insecure_hosts)?;
    let pool = store::connect(&config.database.url, 1, config.database.connect_timeout)
        .map_err(crate::app::RunError::from)?;
    let mut client = pool.get().await.map_err(StoreError::from)?;
    if partners::get(&**client, PARTNER).await?.is_none() {
        partners::insert(&**client, PARTNER, "Demo Shop").await?;
    }
    let existing = endpoints::list_for_partner(&**client, PARTNER).await?;
    if let Some(ep) = existing.into_iter().find(|e| e.url == url.as_str()) {
        return Ok(ep.secrets);
    }
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let (ep, _) = endpoints::insert(
        &*tx,
        &endpoints::NewEndpoint {
            partner_id: PARTNER,
            url: url.as_str(),
            description: "demo receiver",
            event_types: &EventType::ALL,
            schema_version: crate::schema::SchemaVersion::LATEST,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(ep.secrets)
}

/// The demo partner's receiver: verifies the signature and prints the event.
async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    secrets: web::Data<Arc<Vec<SigningSecret>>>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let id = header(webhook::WEBHOOK_ID);
    let timestamp: i64 = header(webhook::WEBHOOK_TIMESTAMP).parse().unwrap_or(0);
    let signature = header(webhook::WEBHOOK_SIGNATURE);
    let now = chrono::Utc::now().timestamp();
    let verified = secrets
        .iter()
        .any(|s| webhook::verify(s, id, timestamp, &body, signature, now, 300).is_ok());
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // The first pointer that holds a string: v1 keys are flat, v2 nests them.
    let field = |pointers: &[&str]| {
        pointers
            .iter()
            .find_map(|p| payload.pointer(p).and_then(|v| v.as_str()))
            .unwrap_or("-")
            .to_owned()
    };
    println!(
        "  webhook  {:<17} order {:<9} status {:<17} {}  signature {}",
        field(&["/event_type"]),
        field(&["/order_id", "/order/id"]),
        field(&["/status", "/order/status"]),
        id,
        if verified { "ok" } else { "INVALID" }
    );
    if verified {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::Unauthorized().finish()
    }
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
