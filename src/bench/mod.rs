//! `trackwire bench`: throughput, end-to-end latency and isolation of the
//! whole pipeline, each figure set beside a bare-HTTP baseline measured in
//! the same run on the same sinks. BENCHMARKS.md describes the method.
//!
//! Every step gets a fresh database (dropped after), a fresh mock broker (or,
//! with `--brokers`, topics of its own on a real Kafka cluster) and its own
//! sinks, and runs trackwire as a separate process so that its CPU time and
//! peak RSS are read from `/proc` apart from the harness.
//!
//! # Layout
//! - `plan`: which steps the options ask for.
//! - `scenarios`: what each scenario runs, and running one step.
//! - `sinks`: the partner endpoints (hyper servers noting receive times).
//! - `producer`: Debezium order changes into the CDC topic.
//! - `baseline`: the bare hyper client.
//! - `cdc`: the `cdc` scenario, a MariaDB UPDATE to the partner's receipt.
//! - `topics`: the steps' topics on a real broker.
//! - `measure`: the trackwire process, `/proc`, percentiles, store counts.
//! - `report`: JSON and Markdown results.

mod baseline;
mod layout;
mod measure;
mod plan;
mod producer;
mod report;
mod run;
mod scenarios;
mod sinks;
mod topics;
mod traffic;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio_postgres::NoTls;

use crate::config::Config;
use crate::dev::broker::DevBroker;
use crate::store::migrate;

/// `bench` options.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Scenarios, comma-separated: steady, max, isolation, fanout,
    /// idle-scale, cdc; or all (every one but cdc).
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// A few seconds in all, with small counts (the test suite runs this).
    #[arg(long)]
    pub quick: bool,
    /// Where results.json and results.md are written.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// PostgreSQL server to use: a database is created there for each step
    /// and dropped after it. Start one with scripts/ensure-postgres.
    #[arg(
        long,
        env = "TRACKWIRE_BENCH_ADMIN_URL",
        default_value = "postgres://trackwire:trackwire@127.0.0.1:5432/postgres"
    )]
    pub admin_url: String,
    /// `steady` and `max`: partners (P).
    #[arg(long)]
    pub partners: Option<usize>,
    /// `steady` and `max`: endpoints in all (E), spread evenly over the
    /// partners, at most 5 each.
    #[arg(long)]
    pub endpoints: Option<usize>,
    /// `steady`: events per second (R), instead of 200 and 1,000.
    #[arg(long)]
    pub rate: Option<f64>,
    /// `steady` and `max`: events in all (C).
    #[arg(long)]
    pub count: Option<usize>,
    /// `isolation`: rounds of the healthy and the sick step, one after the
    /// other; the report gives the median of the rounds' ratios, so one
    /// run gives a stable answer (1 when quick).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub isolation_rounds: u16,
    /// Sink servers the healthy endpoints are spread over.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub sinks: u16,
    /// The trackwire binary to measure (default: this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// A real Kafka cluster (bootstrap list) to run the steps on, each with
    /// topics of its own, instead of an embedded mock cluster per step.
    #[arg(long, env = "TRACKWIRE_BENCH_BROKERS")]
    pub brokers: Option<String>,
    /// With --brokers: run each traffic step on the mock cluster too, just
    /// before the real one, for figures side by side.
    #[arg(long, requires = "brokers")]
    pub compare_mock: bool,
    /// `cdc`: TCP port of the OMS MariaDB on 127.0.0.1 (user oms, database
    /// oms, as scripts/cdc sets it up).
    #[arg(long, default_value_t = 13306)]
    pub oms_port: u16,
    /// `cdc`: the topic the Debezium connector writes oms.orders into.
    #[arg(long, default_value = "oms.orders")]
    pub oms_topic: String,
}

/// The benchmark could not run: what failed, in words for the operator
/// running it (a step's set-up, a child process, a measurement).
#[derive(Debug, thiserror::Error)]
#[error("bench: {0}")]
pub struct BenchError(String);

impl BenchError {
    fn new(message: impl Into<String>) -> Self {
        BenchError(message.into())
    }

    fn db(e: tokio_postgres::Error) -> Self {
        BenchError(format!("database: {e}"))
    }
}

/// Nanoseconds since the benchmark started: one monotonic clock shared by the
/// producer, the sinks and the baseline, so latencies need no wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// Nanoseconds since the clock was made.
    pub fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Runs the benchmark. The work runs on a two-thread runtime of its own, so
/// the sinks and the baseline client can use both cores as trackwire does.
pub async fn run(config: &Config, args: BenchArgs) -> Result<(), BenchError> {
    let config = config.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| BenchError::new(format!("runtime: {e}")))
                .and_then(|rt| rt.block_on(run::run_all(&config, &args)));
            let _ = tx.send(result);
        })
        .map_err(|e| BenchError::new(format!("thread: {e}")))?;
    rx.await
        .map_err(|_| BenchError::new("the benchmark thread stopped"))?
}

/// Where a step's records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kafka {
    /// An embedded mock cluster of the step's own.
    Mock,
    /// A real cluster: the bootstrap list, and the CDC topic when it is
    /// given (the `cdc` scenario's connector writes one) rather than created.
    Real {
        /// Bootstrap list.
        brokers: String,
        /// An existing CDC topic.
        cdc_topic: Option<String>,
    },
}

/// What one step stands on: a database of its own, a broker and topics.
pub struct StepEnv {
    /// The step's database.
    pub db_url: String,
    db_name: String,
    admin: tokio_postgres::Client,
    /// A connection to it.
    pub db: tokio_postgres::Client,
    /// The mock cluster, when the step runs on one.
    broker: Option<DevBroker>,
    /// Bootstrap list of the step's broker.
    pub brokers: String,
    /// The step's CDC and dead-letter topics.
    pub topics: (String, String),
    /// The step's consumer group.
    pub group: String,
    /// Topics the step created on a real broker.
    created: Vec<String>,
}

impl StepEnv {
    /// Creates and migrates a fresh database, and starts a mock broker or
    /// creates topics on the real one.
    pub async fn create(
        admin_url: &str,
        config: &Config,
        kafka: &Kafka,
    ) -> Result<Self, BenchError> {
        let (admin, conn) = tokio_postgres::connect(admin_url, NoTls)
            .await
            .map_err(|e| {
                BenchError::new(format!(
                    "cannot reach PostgreSQL at {admin_url} ({e}); start it with scripts/ensure-postgres or set --admin-url"
                ))
            })?;
        tokio::spawn(conn);
        let db_name = format!(
            "tw_bench_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE \"{db_name}\""))
            .await
            .map_err(BenchError::db)?;
        let db_url = with_database(admin_url, &db_name);
        let (mut db, conn) = tokio_postgres::connect(&db_url, NoTls)
            .await
            .map_err(BenchError::db)?;
        tokio::spawn(conn);
        migrate::run(&mut db).await.map_err(BenchError::db)?;
        let (broker, brokers, topics) = match kafka {
            Kafka::Mock => {
                let (cdc, dlq) = (&config.kafka.cdc_topic, &config.kafka.dlq_topic);
                let broker = DevBroker::start(1, &[(cdc, 4), (dlq, 1)])
                    .map_err(|e| BenchError::new(e.to_string()))?;
                let brokers = broker.bootstrap_servers().to_owned();
                (Some(broker), brokers, (cdc.clone(), dlq.clone()))
            }
            Kafka::Real { brokers, cdc_topic } => {
                let topics = topics::create(brokers, &db_name, cdc_topic.as_deref()).await?;
                (None, brokers.clone(), topics)
            }
        };
        let created = match kafka {
            Kafka::Real {
                cdc_topic: Some(_), ..
            } => vec![topics.1.clone()],
            Kafka::Real { .. } => vec![topics.0.clone(), topics.1.clone()],
            Kafka::Mock => Vec::new(),
        };
        Ok(StepEnv {
            db_url,
            group: format!("trackwire-{db_name}"),
            db_name,
            admin,
            db,
            broker,
            brokers,
            topics,
            created,
        })
    }

    /// Whether the step runs on the mock cluster.
    pub fn on_mock(&self) -> bool {
        self.broker.is_some()
    }

    /// Drops the database, and the topics the step created on a real broker.
    pub async fn drop_database(self) {
        drop(self.db);
        if self.broker.is_none() {
            topics::delete(&self.brokers, &self.created).await;
        }
        drop(self.broker);
        let _ = self
            .admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.db_name
            ))
            .await;
    }
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{db}{query}", &base[..scheme_end + slash]),
        None => format!("{base}/{db}{query}"),
    }
}

/// Shared handle to the clock and settings every step uses.
#[derive(Clone)]
pub struct Bench {
    /// The process's configuration (topics, delivery limits).
    pub config: Arc<Config>,
    /// The options.
    pub args: Arc<BenchArgs>,
    /// The shared clock.
    pub clock: Clock,
    /// The binary measured.
    pub binary: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_in_the_url() {
        assert_eq!(
            with_database(
                "postgres://trackwire:trackwire@127.0.0.1:5432/postgres",
                "b"
            ),
            "postgres://trackwire:trackwire@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "b"),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "b"),
            "postgres://h:5432/b"
        );
    }
}
