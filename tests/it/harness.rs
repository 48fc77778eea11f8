//! What every integration test stands on: a fresh database, topics of its
//! own on a real Kafka broker, a CDC producer, and the service started as a
//! child process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, TopicPartitionList};
use tokio_postgres::NoTls;
use trackwire::dev::feed::{self, OrderRow};
use trackwire::schema::EventType;
use trackwire::store::endpoints::{self, Endpoint, NewEndpoint};
use trackwire::store::{migrate, partners};
use trackwire::webhook::SigningSecret;

use crate::kafka::{self, TopicSpec};

/// Where the test databases are created.
pub fn admin_url() -> String {
    std::env::var("TRACKWIRE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://trackwire:trackwire@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database, topics and a consumer group, and a place for logs, all
/// private to one test.
pub struct TestEnv {
    /// Connection string of the test database.
    pub db_url: String,
    db_name: String,
    admin_url: String,
    /// Bootstrap list of the broker the topics live on.
    pub brokers: String,
    /// CDC topic.
    pub topic: String,
    /// Dead-letter topic.
    pub dlq_topic: String,
    /// Logs of the services started.
    pub dir: PathBuf,
    producer: FutureProducer,
    position: AtomicU64,
}

impl TestEnv {
    /// A fresh environment; the CDC topic has `partitions` partitions.
    pub async fn new(partitions: i32) -> Self {
        Self::on(&admin_url(), partitions).await
    }

    /// A fresh environment whose database lives on the server `admin`
    /// connects to.
    pub async fn on(admin: &str, partitions: i32) -> Self {
        Self::on_kafka(
            admin,
            &kafka::shared_brokers(),
            TopicSpec::single(partitions),
        )
        .await
    }

    /// A fresh environment on the Kafka cluster `brokers` (e.g. one the test
    /// started itself), its topics created as `spec` says.
    pub async fn on_kafka(admin: &str, brokers: &str, spec: TopicSpec) -> Self {
        let admin_url = admin.to_owned();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let db_name = format!(
            "tw_test_{}_{}_{}",
            std::process::id(),
            n,
            rand::random::<u32>()
        );
        let (admin, conn) = tokio_postgres::connect(&admin_url, NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE \"{db_name}\""))
            .await
            .expect("create test database");
        let db_url = replace_db(&admin_url, &db_name);
        let (mut client, conn) = tokio_postgres::connect(&db_url, NoTls)
            .await
            .expect("connect to test db");
        tokio::spawn(conn);
        migrate::run(&mut client).await.expect("migrations apply");
        // Names private to the test, so tests share a broker side by side.
        let topic = format!("{db_name}.orders");
        let dlq_topic = format!("{db_name}.dead-letters");
        kafka::create_topics(brokers, &[(&topic, spec.partitions), (&dlq_topic, 1)], spec).await;
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("linger.ms", "1")
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        let dir = std::env::temp_dir().join(&db_name);
        std::fs::create_dir_all(&dir).expect("log dir");
        TestEnv {
            db_url,
            db_name,
            admin_url,
            brokers: brokers.to_owned(),
            topic,
            dlq_topic,
            dir,
            producer,
            position: AtomicU64::new(1_000),
        }
    }

    /// A client of the test database.
    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.db_url, NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
    }

    /// Creates a partner.
    pub async fn partner(&self, id: &str) {
        partners::insert(&self.db().await, id, id)
            .await
            .expect("partner");
    }

    /// Registers an endpoint; returns it with its secret.
    pub async fn endpoint(
        &self,
        partner: &str,
        url: &str,
        types: &[EventType],
    ) -> (Endpoint, SigningSecret) {
        let mut db = self.db().await;
        let tx = db.transaction().await.expect("tx");
        let created = endpoints::insert(
            &tx,
            &NewEndpoint {
                partner_id: partner,
                url,
                description: "",
                event_types: types,
                schema_version: trackwire::schema::SchemaVersion::V1,
            },
        )
        .await
        .expect("endpoint");
        tx.commit().await.expect("commit");
        created
    }

    /// Publishes a Debezium change of an order row (alternating the schema
    /// wrapper on and off, as connectors may be configured either way).
    pub async fn change(&self, op: &str, before: Option<&OrderRow>, after: &OrderRow) {
        let position = self.position.fetch_add(1, Ordering::SeqCst);
        let value = feed::change_event(op, before, Some(after), position, position % 2 == 0);
        self.publish_raw(&feed::key(&after.id), Some(&value)).await;
    }

    /// Publishes raw bytes (or a tombstone) to the CDC topic.
    pub async fn publish_raw(&self, key: &[u8], value: Option<&[u8]>) {
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("publish");
    }

    /// Starts the service with the test settings plus `extra` variables.
    pub fn service(&self, extra: &[(&str, &str)]) -> Service {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let log = self.dir.join(format!("service-{n}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trackwire"));
        cmd.arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TRACKWIRE_DATABASE__URL", &self.db_url)
            .env("TRACKWIRE_KAFKA__BROKERS", &self.brokers)
            .env("TRACKWIRE_KAFKA__CDC_TOPIC", &self.topic)
            .env("TRACKWIRE_KAFKA__DLQ_TOPIC", &self.dlq_topic)
            .env(
                "TRACKWIRE_KAFKA__BROKERS_FILE",
                self.dir.join("no-broker-file"),
            )
            .env(
                "TRACKWIRE_KAFKA__GROUP_ID",
                format!("trackwire-{}", self.db_name),
            )
            .env("TRACKWIRE_KAFKA__SESSION_TIMEOUT", "3s")
            .env("TRACKWIRE_HTTP__LISTEN", "127.0.0.1:0")
            .env("TRACKWIRE_METRICS__LISTEN", "127.0.0.1:0")
            // A killed process's shards pass to its successor within seconds.
            .env("TRACKWIRE_CLUSTER__LEASE", "3s")
            .env("TRACKWIRE_CLUSTER__HEARTBEAT", "500ms")
            .env("TRACKWIRE_DELIVERY__ALLOW_INSECURE_HOSTS", "127.0.0.1")
            .env("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "200ms,400ms,600ms")
            .env("TRACKWIRE_DELIVERY__JITTER", "0")
            .env("TRACKWIRE_DELIVERY__REFILL_INTERVAL", "100ms")
            .env("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "5s")
            .env("TRACKWIRE_LOG__LEVEL", "info,trackwire=debug")
            .env("NO_COLOR", "1");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start trackwire");
        Service { child, log }
    }

    /// Everything on the dead-letter topic so far (waits up to `wait` for
    /// at least `at_least` records).
    pub fn dead_letters(&self, at_least: usize, wait: Duration) -> Vec<serde_json::Value> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", format!("dlq-reader-{}", rand::random::<u32>()))
            .set("enable.auto.commit", "false")
            .create()
            .expect("dlq consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.dlq_topic, 0, rdkafka::Offset::Beginning)
            .expect("tpl");
        consumer.assign(&tpl).expect("assign");
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while out.len() < at_least && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                if let Some(p) = m.payload() {
                    out.push(serde_json::from_slice(p).expect("dead letter is JSON"));
                }
            }
        }
        out
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Best effort; a leftover database only costs disk.
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .arg("-qc")
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.db_name
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn replace_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if url[..i].contains("://") && i > url.find("://").unwrap_or(0) + 2 => {
            let (base, rest) = url.split_at(i);
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{base}/{db}{query}")
        }
        _ => format!("{url}/{db}"),
    }
}

/// A running `trackwire run`. Killed when dropped.
pub struct Service {
    child: Child,
    /// Its log file.
    pub log: PathBuf,
}

impl Service {
    /// SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM: a graceful shutdown. Waits for the exit and returns whether
    /// it was clean.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &self.child.id().to_string()])
            .status();
        matches!(self.child.wait(), Ok(status) if status.success())
    }

    /// The log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("trackwire exited ({status}):\n{}", self.logs());
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `SELECT count(*) ...` of the test database.
pub async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.expect("count query").get(0)
}

/// Waits until `events` events are stored and no delivery is pending;
/// on timeout fails with the counts and what `logs` gives.
pub async fn wait_settled(
    db: &tokio_postgres::Client,
    events: usize,
    timeout: Duration,
    logs: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let stored = count(db, "SELECT count(*) FROM events").await;
        let pending = count(
            db,
            "SELECT count(*) FROM deliveries WHERE state = 'pending'",
        )
        .await;
        if stored == events as i64 && pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {stored} events stored, {pending} deliveries pending\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until `check` holds, polling; false on timeout.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A database query polled until it returns `want`.
pub async fn eventually_count(
    db: &tokio_postgres::Client,
    sql: &str,
    want: i64,
    timeout: Duration,
) -> i64 {
    let deadline = Instant::now() + timeout;
    loop {
        let n: i64 = db.query_one(sql, &[]).await.expect("count query").get(0);
        if n == want || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
