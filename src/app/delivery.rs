//! The delivery side: one worker thread per core (or `delivery.workers`),
//! each with its recorder and HTTP client, the router that places endpoint
//! actors on them, and the dead-letter producer.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use deadpool_postgres::Pool;

use super::RunError;
use crate::actors::dead_letters::DeadLetters;
use crate::actors::endpoint::{SsrfGuard, WebhookClient};
use crate::actors::recorder::{Drain, Recorder};
use crate::actors::router::{Quiesce, Router, Worker};
use crate::actors::DeliveryDeps;
use crate::config::{Config, DeliveryConfig};
use crate::kafka;

/// How often the router reads every endpoint again. Changes arrive as
/// notifications (and a full look after every reconnection of the
/// listener), so this is only a safety net, rare because it is costly.
const SAFETY_RELOAD: Duration = Duration::from_secs(300);

/// The running delivery side.
pub struct Delivery {
    /// Routes events to endpoint actors; no endpoint runs until the
    /// cluster has assigned this process its shards.
    pub router: Addr<Router>,
    /// The Kafka cluster as the readiness check sees it.
    pub broker: kafka::BrokerProbe,
    /// `[delivery]` settings.
    pub settings: Arc<DeliveryConfig>,
    arbiters: Vec<Arbiter>,
    recorders: Vec<Addr<Recorder>>,
}

impl Delivery {
    /// Starts the worker threads, their recorders and the router.
    pub fn start(config: &Config, pool: &Pool) -> Result<Self, RunError> {
        let producer = kafka::producer(&config.kafka)?;
        let broker = kafka::BrokerProbe::new(
            producer.clone(),
            config.kafka.dlq_topic.clone(),
            crate::http::health::CHECK_TIMEOUT,
        );
        let dead_letters = DeadLetters::new(producer, config.kafka.dlq_topic.clone());
        let deps = DeliveryDeps::new(pool.clone(), config, dead_letters);
        let settings = deps.config.clone();
        let arbiters: Vec<Arbiter> = (0..worker_count(&settings))
            .map(|_| Arbiter::new())
            .collect();
        let workers = workers(&arbiters, &settings, pool);
        let recorders = workers.iter().map(|w| w.recorder.clone()).collect();
        let router =
            Router::sharded(deps, workers, SAFETY_RELOAD, config.cluster.shards, None).start();
        Ok(Delivery {
            router,
            broker,
            settings,
            arbiters,
            recorders,
        })
    }

    /// How many worker threads deliver.
    pub fn worker_count(&self) -> usize {
        self.arbiters.len()
    }

    /// Lets the attempts under way finish and be recorded (bounded by the
    /// attempt timeout, at most 30 s); nothing new starts.
    pub async fn finish_attempts(&self) {
        let in_flight = self.router.send(Quiesce).await.unwrap_or_default();
        crate::cluster::wait_idle(
            &in_flight,
            self.settings.attempt_timeout.min(Duration::from_secs(30)),
        )
        .await;
    }

    /// Gives the recorders a moment (5 s) to write what they hold, then
    /// stops the worker threads.
    pub async fn stop(self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for r in &self.recorders {
            while !matches!(r.send(Drain).await, Ok(true) | Err(_))
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        for a in &self.arbiters {
            a.stop();
        }
    }
}

fn worker_count(settings: &DeliveryConfig) -> usize {
    match settings.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// One worker per thread: its HTTP client and its recorder. The attempt
/// slots are one limit for the whole process, whichever worker an endpoint
/// is on.
fn workers(arbiters: &[Arbiter], settings: &DeliveryConfig, pool: &Pool) -> Vec<Worker> {
    let guard = SsrfGuard::new(&settings.allow_insecure_hosts);
    let slots = Arc::new(tokio::sync::Semaphore::new(settings.max_attempts_in_flight));
    arbiters
        .iter()
        .map(|arbiter| {
            let pool = pool.clone();
            Worker {
                arbiter: arbiter.handle(),
                http: WebhookClient::new(
                    guard.clone(),
                    settings.connect_timeout,
                    settings.attempt_timeout,
                    settings.response_excerpt_bytes,
                )
                .with_slots(slots.clone()),
                recorder: Recorder::start_in_arbiter(&arbiter.handle(), move |_| {
                    Recorder::new(pool)
                }),
            }
        })
        .collect()
}
