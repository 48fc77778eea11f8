//! The topics of a step on a real Kafka cluster: named after the step's
//! database, so steps and runs never read each other's records, and deleted
//! when the step is over.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

use super::BenchError;

/// Partitions of a step's CDC topic, as on the mock cluster.
const CDC_PARTITIONS: i32 = 4;

/// Creates the step's dead-letter topic, and its CDC topic unless `cdc` names
/// an existing one; returns (CDC topic, dead-letter topic).
pub async fn create(
    brokers: &str,
    step: &str,
    cdc: Option<&str>,
) -> Result<(String, String), BenchError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| BenchError::new(format!("Kafka admin client: {e}")))?;
    let dlq = format!("{step}.dead-letters");
    let cdc_topic = cdc.map_or_else(|| format!("{step}.orders"), str::to_owned);
    // Replication as the broker's default.
    let mut new = vec![NewTopic::new(&dlq, 1, TopicReplication::Fixed(-1))];
    if cdc.is_none() {
        new.push(NewTopic::new(
            &cdc_topic,
            CDC_PARTITIONS,
            TopicReplication::Fixed(-1),
        ));
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new, &options)
        .await
        .map_err(|e| BenchError::new(format!("creating topics on {brokers}: {e}")))?;
    for result in results {
        result.map_err(|(topic, e)| BenchError::new(format!("creating topic {topic}: {e}")))?;
    }
    Ok((cdc_topic, dlq))
}

/// Deletes a step's topics; best effort, as the step is over.
pub async fn delete(brokers: &str, topics: &[String]) {
    let Ok(admin) = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create::<AdminClient<DefaultClientContext>>()
    else {
        return;
    };
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let _ = admin.delete_topics(&names, &options).await;
}
