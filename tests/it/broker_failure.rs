//! A Kafka broker dies under load: kill -9 of the broker leading the CDC
//! partitions of a three-node cluster (replication factor 3,
//! min.insync.replicas 2) in the middle of a stream, and of the one broker
//! of a single-node cluster (started again on its log on disk). Every event
//! is delivered or dead, the dead-letter producer loses nothing, and a
//! redelivery carries the webhook-id it had.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::future::join_all;
use rdkafka::producer::{FutureProducer, FutureRecord};
use trackwire::dev::feed::{change_event, key, new_order};
use trackwire::schema::EventType;

use crate::harness::{admin_url, count, wait_settled, Service, TestEnv};
use crate::kafka::{leader_of, KafkaCluster, TopicSpec};
use crate::receiver::{Behavior, Receiver};

const EVENTS: usize = 4_000;
/// Every tenth order belongs to a partner whose endpoint always fails, so
/// dead letters are being published while the broker dies.
const GONE_EVERY: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_failure_of_the_cdc_leader_in_a_three_node_cluster_loses_nothing() {
    let kafka = KafkaCluster::start(3).await;
    let spec = TopicSpec {
        partitions: 3,
        replication: 3,
        min_insync: 2,
    };
    stream_through_a_broker_failure(&kafka, spec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_failure_of_a_single_node_restarted_on_its_log_loses_nothing() {
    let kafka = KafkaCluster::start(1).await;
    stream_through_a_broker_failure(&kafka, TopicSpec::single(3)).await;
}

async fn stream_through_a_broker_failure(kafka: &KafkaCluster, spec: TopicSpec) {
    let env = TestEnv::on_kafka(&admin_url(), &kafka.brokers, spec).await;
    let ok = Receiver::start(Behavior::Status(200)).await;
    let gone = Receiver::start(Behavior::Status(500)).await;
    env.partner("ok").await;
    env.partner("gone").await;
    env.endpoint("ok", &ok.url(), &EventType::ALL).await;
    env.endpoint("gone", &gone.url(), &EventType::ALL).await;
    let settings = [
        ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "100ms"),
        // The failing endpoint's breaker stays closed, so its deliveries
        // die (and go to the dead-letter topic) while the broker is down.
        ("TRACKWIRE_BREAKER__CONSECUTIVE_FAILURES", "1000000"),
        ("TRACKWIRE_BREAKER__FAILURE_RATE", "1.0"),
        ("TRACKWIRE_BREAKER__MIN_ATTEMPTS", "1000000"),
        ("TRACKWIRE_LOG__LEVEL", "info"),
    ];
    let first = env.service(&settings);
    let second = env.service(&settings);

    let feed = tokio::spawn(feed(env.brokers.clone(), env.topic.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let victim = leader_of(&env.brokers, &env.topic, 0);
    kafka.kill(victim).await;
    println!("broker failure: killed node {victim}, the leader of partition 0");
    tokio::time::sleep(Duration::from_secs(5)).await;
    kafka.restart(victim).await;
    println!("broker failure: node {victim} is back");
    let sent = feed.await.expect("feed");
    assert_eq!(sent, EVENTS, "every record reached Kafka");

    settle(&env, &[first, second]).await;
    check_outcome(&env, &ok).await;
}

/// Publishes EVENTS order creations at about 400 a second, acks=all and
/// idempotent; returns how many the broker acknowledged.
async fn feed(brokers: String, topic: String) -> usize {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "5")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "120000")
        .create()
        .expect("producer");
    let mut sent = 0;
    let all: Vec<usize> = (0..EVENTS).collect();
    for chunk in all.chunks(100) {
        let sends = chunk.iter().map(|i| {
            let partner = if i % GONE_EVERY == 0 { "gone" } else { "ok" };
            let order = new_order(&format!("BF-{i}"), partner);
            let value = change_event("c", None, Some(&order), *i as u64 + 1, i % 2 == 0);
            let (producer, topic, k) = (producer.clone(), topic.clone(), key(&order.id));
            async move {
                let record = FutureRecord::to(&topic).key(&k).payload(&value);
                producer
                    .send(record, Duration::from_secs(120))
                    .await
                    .is_ok()
            }
        });
        sent += join_all(sends).await.into_iter().filter(|ok| *ok).count();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    sent
}

/// Waits until every event is stored and no delivery is pending.
async fn settle(env: &TestEnv, services: &[Service]) {
    let logs = || {
        services
            .iter()
            .map(Service::logs)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    wait_settled(&env.db().await, EVENTS, Duration::from_secs(180), logs).await;
}

async fn check_outcome(env: &TestEnv, ok: &Receiver) {
    let db = env.db().await;
    let gone = (EVENTS / GONE_EVERY) as i64;
    let delivered = count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
    )
    .await;
    let dead_ids: HashSet<String> = db
        .query("SELECT event_id FROM deliveries WHERE state = 'dead'", &[])
        .await
        .expect("dead")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(delivered, EVENTS as i64 - gone, "every ok event delivered");
    assert_eq!(dead_ids.len() as i64, gone, "every failing one dead");

    // The partner saw every delivered event; a duplicate carries the same
    // webhook-id and the same body.
    let mut seen: HashMap<String, serde_json::Value> = HashMap::new();
    let mut requests = 0;
    for r in ok.acked() {
        requests += 1;
        let body = r.json();
        let id = r.header("webhook-id").to_owned();
        assert_eq!(body["event_id"], id.as_str());
        if let Some(previous) = seen.insert(id, body.clone()) {
            assert_eq!(previous, body, "a duplicate is the same event");
        }
    }
    assert_eq!(
        seen.len() as i64,
        delivered,
        "every delivered event arrived"
    );

    // Read past the count: a letter published twice must not hide another.
    let letters = env.dead_letters(dead_ids.len() * 3, Duration::from_secs(15));
    let on_dlq: HashSet<String> = letters
        .iter()
        .map(|l| l["event_id"].as_str().expect("event_id").to_owned())
        .collect();
    let missing = dead_ids.difference(&on_dlq).count();
    assert_eq!(
        missing, 0,
        "dead deliveries missing from the dead-letter topic"
    );
    println!(
        "broker failure: sent {EVENTS}, delivered {delivered}, duplicates {}, dead {}, dead letters {} ({} distinct)",
        requests - seen.len(),
        dead_ids.len(),
        letters.len(),
        on_dlq.len()
    );
}
