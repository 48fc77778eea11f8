//! What brings work in: CDC ingest from Kafka, endpoint changes from the
//! store's notifications, and the SMS sender. All stop on the shutdown
//! signal; [`Intake::stopped`] waits for them.

use std::time::Duration;

use deadpool_postgres::Pool;
use rdkafka::consumer::Consumer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::delivery::Delivery;
use super::RunError;
use crate::config::Config;
use crate::ingest::{mapping::Mapper, Ingest};
use crate::kafka::{self, KafkaSetupError};

/// How long ingest and the SMS sender get to finish what they hold.
const FINISH: Duration = Duration::from_secs(10);

/// The running intake.
pub struct Intake {
    ingest: JoinHandle<()>,
    endpoint_changes: JoinHandle<()>,
    sms: Option<JoinHandle<()>>,
}

impl Intake {
    /// Starts following endpoint changes, the SMS sender (when enabled) and
    /// ingest; each stops when `stopping` turns true.
    pub fn start(
        config: &Config,
        pool: &Pool,
        delivery: &Delivery,
        stopping: watch::Receiver<bool>,
    ) -> Result<Self, RunError> {
        let endpoint_changes = actix_rt::spawn(crate::store::listen::follow_endpoint_changes(
            config.database.url.clone(),
            delivery.router.clone(),
            stopping.clone(),
        ));
        let ingest = ingest(config, pool, delivery)?;
        let sms = crate::sms::sender::spawn_from_config(pool.clone(), config, stopping.clone());
        Ok(Intake {
            ingest: actix_rt::spawn(ingest.run(stopping)),
            endpoint_changes,
            sms,
        })
    }

    /// Waits for ingest to commit and stop, the listener to stop, and the
    /// SMS sender to finish its send under way.
    pub async fn stopped(self) {
        let _ = tokio::time::timeout(FINISH, self.ingest).await;
        let _ = self.endpoint_changes.await;
        if let Some(sender) = self.sms {
            let _ = tokio::time::timeout(FINISH, sender).await;
        }
    }
}

/// The CDC consumer, subscribed, with the mapping and its enrichments.
fn ingest(config: &Config, pool: &Pool, delivery: &Delivery) -> Result<Ingest, RunError> {
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
        delivery.router.clone(),
        config.kafka.batch_size,
        config.kafka.batch_linger,
        config.http.tracking_pages(),
    );
    Ok(ingest
        .with_dispatch(dispatch)
        .with_lanes(config.kafka.ingest_lanes))
}
