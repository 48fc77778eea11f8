//! Real Apache Kafka for the tests: the shared broker `scripts/test` starts,
//! private clusters a test starts and breaks itself (through
//! `scripts/kafka`), and topic creation with the admin API.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

/// The variable naming the shared test broker.
pub const BROKER_VAR: &str = "TRACKWIRE_TEST_KAFKA";

/// The bootstrap list of the shared test broker. Without it the tests cannot
/// run: they need a real broker and do not fall back to a mock.
pub fn shared_brokers() -> String {
    match std::env::var(BROKER_VAR) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{BROKER_VAR} is not set: these tests need a real Kafka broker. \
             Run them with scripts/test, which starts one (or set {BROKER_VAR} \
             to the bootstrap list of a broker you started with scripts/kafka start)"
        ),
    }
}

/// How a test's topics are created.
#[derive(Debug, Clone, Copy)]
pub struct TopicSpec {
    /// Partitions of the CDC topic (the dead-letter topic has one).
    pub partitions: i32,
    /// Replication factor of both topics.
    pub replication: i32,
    /// `min.insync.replicas` of both topics.
    pub min_insync: i32,
}

impl TopicSpec {
    /// Unreplicated topics, as on the single shared broker.
    pub fn single(partitions: i32) -> Self {
        TopicSpec {
            partitions,
            replication: 1,
            min_insync: 1,
        }
    }
}

/// Creates the topics and waits until every partition has a leader.
pub async fn create_topics(brokers: &str, topics: &[(&str, i32)], spec: TopicSpec) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let isr = spec.min_insync.to_string();
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|(name, partitions)| {
            NewTopic::new(name, *partitions, TopicReplication::Fixed(spec.replication))
                .set("min.insync.replicas", &isr)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin
        .create_topics(&new, &options)
        .await
        .expect("create topics")
    {
        result.unwrap_or_else(|(topic, e)| panic!("creating topic {topic}: {e}"));
    }
    for (name, partitions) in topics {
        wait_for_leaders(brokers, name, *partitions as usize);
    }
}

fn wait_for_leaders(brokers: &str, topic: &str, partitions: usize) {
    let consumer = metadata_client(brokers);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            let led = md
                .topics()
                .iter()
                .filter(|t| t.name() == topic && t.error().is_none())
                .flat_map(|t| t.partitions())
                .filter(|p| p.leader() >= 0)
                .count();
            if led == partitions {
                return;
            }
        }
        assert!(Instant::now() < deadline, "topic {topic} got no leaders");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn metadata_client(brokers: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("metadata client")
}

/// The node leading `partition` of `topic` (node ids are 1..=nodes).
pub fn leader_of(brokers: &str, topic: &str, partition: i32) -> i32 {
    let md = metadata_client(brokers)
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.topics()
        .iter()
        .flat_map(|t| t.partitions())
        .find(|p| p.id() == partition)
        .map(|p| p.leader())
        .expect("partition in metadata")
}

/// A Kafka cluster of its own (one node or three), started with
/// `scripts/kafka` on free ports; stopped and removed when dropped.
pub struct KafkaCluster {
    dir: PathBuf,
    /// Its bootstrap list.
    pub brokers: String,
}

impl KafkaCluster {
    /// Starts `nodes` nodes (1 or 3) and waits until all answer.
    pub async fn start(nodes: usize) -> Self {
        let port = free_port_block(nodes);
        let dir = std::env::temp_dir().join(format!(
            "tw-kafka-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let args = vec![
            "start".to_owned(),
            "-n".to_owned(),
            nodes.to_string(),
            "-p".to_owned(),
            port.to_string(),
            "-d".to_owned(),
            dir.display().to_string(),
        ];
        let brokers = script(args).await;
        KafkaCluster { dir, brokers }
    }

    /// kill -9 of one node.
    pub async fn kill(&self, node: i32) {
        script(self.node_args("kill", node)).await;
    }

    /// Starts a stopped node again on its data directory and waits for it.
    pub async fn restart(&self, node: i32) {
        script(self.node_args("start-node", node)).await;
    }

    fn node_args(&self, command: &str, node: i32) -> Vec<String> {
        vec![
            command.to_owned(),
            "-d".to_owned(),
            self.dir.display().to_string(),
            node.to_string(),
        ]
    }
}

impl Drop for KafkaCluster {
    fn drop(&mut self) {
        let _ = Command::new(script_path())
            .args(["stop", "-d"])
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka")
}

/// Runs scripts/kafka off the async workers; panics with its output when it
/// fails, returns its standard output.
async fn script(args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(script_path())
            .args(&args)
            .output()
            .expect("run scripts/kafka");
        assert!(
            out.status.success(),
            "scripts/kafka {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    })
    .await
    .expect("scripts/kafka task")
}

/// A base port p with p..p+nodes and p+100..p+100+nodes free now.
fn free_port_block(nodes: usize) -> u16 {
    loop {
        let base = 20_000 + rand::random::<u16>() % 9_000;
        let free = (0..nodes as u16)
            .flat_map(|i| [base + i, base + 100 + i])
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return base;
        }
    }
}
