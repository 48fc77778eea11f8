//! A Kafka-protocol broker for local runs and tests: librdkafka's mock
//! cluster, hosted on a thread of its own (the cluster handle must stay on
//! the thread that made it).

use std::sync::mpsc;
use std::thread::JoinHandle;

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;

enum Command {
    BrokerDown(i32),
    BrokerUp(i32),
    CreateTopic(String, i32),
    Stop,
}

/// A running mock cluster. Stops when dropped.
pub struct DevBroker {
    bootstrap: String,
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

/// The broker could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DevBrokerError {
    /// librdkafka refused to create the cluster or a topic.
    #[error("mock cluster: {0}")]
    Kafka(#[from] KafkaError),
    /// The hosting thread died before reporting.
    #[error("the mock cluster thread stopped unexpectedly")]
    ThreadGone,
}

impl DevBroker {
    /// Starts a cluster of `brokers` brokers with the given topics
    /// (name, partitions).
    pub fn start(brokers: i32, topics: &[(&str, i32)]) -> Result<Self, DevBrokerError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, KafkaError>>();
        let (commands, rx) = mpsc::channel::<Command>();
        let topics: Vec<(String, i32)> = topics.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        let thread = std::thread::Builder::new()
            .name("dev-broker".into())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for (topic, partitions) in &topics {
                    if let Err(e) = cluster.create_topic(topic, *partitions, 1) {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                while let Ok(cmd) = rx.recv() {
                    let result = match cmd {
                        Command::BrokerDown(id) => cluster.broker_down(id),
                        Command::BrokerUp(id) => cluster.broker_up(id),
                        Command::CreateTopic(t, p) => cluster.create_topic(&t, p, 1),
                        Command::Stop => break,
                    };
                    if let Err(error) = result {
                        tracing::warn!(%error, "mock cluster command failed");
                    }
                }
            })
            .map_err(|_| DevBrokerError::ThreadGone)?;
        let bootstrap = ready_rx.recv().map_err(|_| DevBrokerError::ThreadGone)??;
        Ok(DevBroker {
            bootstrap,
            commands,
            thread: Some(thread),
        })
    }

    /// The address list clients connect to.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Takes a broker down (fault injection); ids start at 1.
    pub fn broker_down(&self, id: i32) {
        let _ = self.commands.send(Command::BrokerDown(id));
    }

    /// Brings a broker back up.
    pub fn broker_up(&self, id: i32) {
        let _ = self.commands.send(Command::BrokerUp(id));
    }

    /// Creates another topic.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let _ = self
            .commands
            .send(Command::CreateTopic(topic.to_owned(), partitions));
    }
}

impl Drop for DevBroker {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
