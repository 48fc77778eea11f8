//! Chaos: 20,000 events through two processes while one is killed, the
//! database restarts, the Kafka broker (a real one of its own, its log on
//! disk) is killed with -9 and started again, and a receiver is down for a
//! while. Afterwards every event is delivered or dead
//! with its attempts recorded, nothing is lost, and every duplicate carries
//! the same `webhook-id`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use trackwire::dev::feed::{change_event, key, new_order};
use trackwire::schema::EventType;

use crate::harness::{count, wait_settled, TestEnv};
use crate::kafka::{KafkaCluster, TopicSpec};
use crate::private_pg::PrivatePostgres;
use crate::receiver::{Behavior, Receiver};

const EVENTS: usize = 20_000;
const PARTNERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_loses_nothing_and_keeps_webhook_ids() {
    let pg = PrivatePostgres::start();
    let kafka = KafkaCluster::start(1).await;
    let env = TestEnv::on_kafka(&pg.admin_url(), &kafka.brokers, TopicSpec::single(4)).await;
    let mut receivers = Vec::new();
    for p in 0..PARTNERS {
        let partner = format!("p{p}");
        env.partner(&partner).await;
        let rx = Receiver::start(Behavior::Status(200)).await;
        env.endpoint(&partner, &rx.url(), &EventType::ALL).await;
        receivers.push(rx);
    }
    let settings = [
        ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "1s,2s,4s"),
        ("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "2s"),
        ("TRACKWIRE_BREAKER__COOLDOWN", "1s"),
        ("TRACKWIRE_BREAKER__MAX_COOLDOWN", "2s"),
        ("TRACKWIRE_LOG__LEVEL", "info"),
    ];
    let mut first = env.service(&settings);
    let mut second = env.service(&settings);

    // The feed runs in the background for the whole test.
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &env.brokers)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "120000")
        .create()
        .expect("producer");
    let topic = env.topic.clone();
    let feed = tokio::spawn(async move {
        let mut sent = 0usize;
        for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(500) {
            let sends = chunk.iter().map(|i| {
                let order = new_order(&format!("C-{i}"), &format!("p{}", i % PARTNERS));
                let value = change_event("c", None, Some(&order), *i as u64 + 1, i % 2 == 0);
                let k = key(&order.id);
                let producer = producer.clone();
                let topic = topic.clone();
                async move {
                    let record = rdkafka::producer::FutureRecord::to(&topic)
                        .key(&k)
                        .payload(&value);
                    producer
                        .send(record, Duration::from_secs(120))
                        .await
                        .is_ok()
                }
            });
            sent += join_all(sends).await.into_iter().filter(|ok| *ok).count();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sent
    });

    let started = Instant::now();
    let at = |secs: u64| started + Duration::from_secs(secs);
    tokio::time::sleep_until(at(4).into()).await;
    first.kill();
    println!("chaos: {:?} SIGKILLed one process", started.elapsed());
    tokio::time::sleep_until(at(7).into()).await;
    pg.restart();
    println!("chaos: {:?} restarted PostgreSQL", started.elapsed());
    tokio::time::sleep_until(at(10).into()).await;
    kafka.kill(1).await;
    println!("chaos: {:?} killed the Kafka broker", started.elapsed());
    tokio::time::sleep_until(at(14).into()).await;
    kafka.restart(1).await;
    println!(
        "chaos: {:?} brought the Kafka broker back",
        started.elapsed()
    );
    // Measured from now: a real broker takes seconds to start again.
    receivers[0].set(Behavior::Status(503));
    tokio::time::sleep(Duration::from_secs(5)).await;
    receivers[0].set(Behavior::Status(200));
    println!("chaos: {:?} the receiver of p0 is back", started.elapsed());
    let _restarted = env.service(&settings);

    let sent = feed.await.expect("feed");
    assert_eq!(sent, EVENTS, "every record reached Kafka");
    let db = env.db().await;
    let last_lines = || {
        let logs = second.logs();
        let mut tail: Vec<_> = logs.lines().rev().take(30).collect();
        tail.reverse();
        tail.join("\n")
    };
    wait_settled(&db, EVENTS, Duration::from_secs(240), last_lines).await;
    second.assert_running();

    let deliveries = count(&db, "SELECT count(*) FROM deliveries").await;
    let delivered = count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
    )
    .await;
    let dead = count(&db, "SELECT count(*) FROM deliveries WHERE state = 'dead'").await;
    let unrecorded = count(
        &db,
        "SELECT count(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_id = d.id)",
    )
    .await;
    let delivered_without_ack = count(
        &db,
        "SELECT count(*) FROM deliveries d WHERE d.state = 'delivered' AND NOT EXISTS
           (SELECT 1 FROM attempts a WHERE a.delivery_id = d.id AND a.http_status BETWEEN 200 AND 299)",
    )
    .await;
    assert_eq!(deliveries, EVENTS as i64, "one delivery per event");
    assert_eq!(
        delivered + dead,
        EVENTS as i64,
        "every delivery delivered or dead"
    );
    assert_eq!(unrecorded, 0, "every delivery has its attempts recorded");
    assert_eq!(delivered_without_ack, 0);

    // What the partners saw: every delivered event, duplicates under the
    // same webhook-id with the same body.
    let mut seen: HashMap<String, serde_json::Value> = HashMap::new();
    let mut acked_requests = 0usize;
    for rx in &receivers {
        for r in rx.acked() {
            acked_requests += 1;
            let body = r.json();
            let id = r.header("webhook-id").to_owned();
            assert_eq!(body["event_id"], id.as_str());
            if let Some(previous) = seen.insert(id, body.clone()) {
                assert_eq!(previous, body, "a duplicate is the same event");
            }
        }
    }
    assert_eq!(
        seen.len() as i64,
        delivered,
        "every delivered event reached its partner"
    );
    let dead_letters = env
        .dead_letters(dead as usize, Duration::from_secs(30))
        .len();
    assert!(
        dead_letters as i64 >= dead,
        "every dead delivery is on the DLQ ({dead_letters} of {dead})"
    );
    println!(
        "chaos: sent {EVENTS}, delivered {delivered}, dead {dead}, duplicates {}, dead letters {dead_letters}, \
         settled after {:?}",
        acked_requests - seen.len(),
        started.elapsed()
    );
}
