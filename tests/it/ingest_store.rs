//! The ingest store's batch write against PostgreSQL: sequence numbers,
//! delivery order and replays, whatever the batch holds.

use std::time::Duration;

use trackwire::schema::{synthetic, EventData, EventType};
use trackwire::store::{self, ingest::NewEvent, ingest::StoredEvent};

use crate::harness::TestEnv;

fn event(event_type: EventType, partner: &str, order: &str, n: u32) -> EventData {
    let mut data = synthetic(event_type, partner, chrono::Utc::now());
    data.is_test = false;
    data.order_id = order.to_owned();
    data.event_id = format!("evt_{order}_{n}");
    data
}

/// Where the tracking pages of these tests are.
pub fn pages() -> store::tracking::TrackingPages {
    store::tracking::TrackingPages::new("https://track.test")
}

async fn store(pool: &deadpool_postgres::Pool, events: &[EventData]) -> Vec<StoredEvent> {
    let new: Vec<NewEvent<'_>> = events
        .iter()
        .map(|data| NewEvent {
            data,
            source: None,
            dispatch_outcome: None,
        })
        .collect();
    let mut client = pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let stored = store::ingest::store_events(&tx, &new, &pages())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_numbers_each_order_in_batch_order_and_a_replay_creates_nothing() {
    let env = TestEnv::new(1).await;
    env.partner("acme").await;
    env.partner("zeta").await;
    let all = &EventType::ALL;
    let (a1, _) = env.endpoint("acme", "http://127.0.0.1:9/a1", all).await;
    let (a2, _) = env.endpoint("acme", "http://127.0.0.1:9/a2", all).await;
    // zeta only hears of deliveries.
    env.endpoint("zeta", "http://127.0.0.1:9/z", &[EventType::Delivered])
        .await;
    let pool = store::connect(&env.db_url, 2, Duration::from_secs(5)).unwrap();

    // R-1 already has one event: the batch continues its numbering.
    let first = store(&pool, &[event(EventType::OrderConfirmed, "acme", "R-1", 0)]).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].sequence, 1);

    let batch = vec![
        event(EventType::OutForDelivery, "acme", "R-1", 1),
        event(EventType::OrderConfirmed, "zeta", "Z-1", 0),
        event(EventType::OrderConfirmed, "acme", "R-2", 0),
        event(EventType::Delivered, "acme", "R-1", 2),
        event(EventType::Delivered, "zeta", "Z-1", 1),
        event(EventType::OutForDelivery, "acme", "R-2", 1),
    ];
    let stored = store(&pool, &batch).await;
    let sequences: Vec<(usize, i64)> = stored.iter().map(|s| (s.index, s.sequence)).collect();
    assert_eq!(
        sequences,
        [(0, 2), (1, 1), (2, 1), (3, 3), (4, 2), (5, 2)],
        "each order continues from its last number, in batch order"
    );

    // Only subscribed endpoints of active partners get deliveries, and one
    // endpoint's deliveries have ids in batch order.
    let per_event: Vec<Vec<&str>> = stored
        .iter()
        .map(|s| {
            s.deliveries
                .iter()
                .map(|d| d.endpoint_id.as_str())
                .collect()
        })
        .collect();
    let acme = [a1.id.as_str(), a2.id.as_str()];
    let mut acme_sorted = acme;
    acme_sorted.sort();
    assert_eq!(per_event[0], acme_sorted);
    assert!(
        per_event[1].is_empty(),
        "zeta does not hear of confirmations"
    );
    assert_eq!(per_event[4].len(), 1);
    let ids: Vec<i64> = stored
        .iter()
        .flat_map(|s| s.deliveries.iter().map(|d| d.delivery_id))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids follow the batch: {ids:?}"
    );

    // The stored payload carries the number it was given.
    let db = env.db().await;
    let row = db
        .query_one(
            "SELECT data->>'sequence' FROM events WHERE id = 'evt_R-1_2'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "3");

    // The same batch again (records consumed twice), plus one new event:
    // only the new one is stored, and the counters moved for it alone.
    let mut replay = batch.clone();
    replay.push(event(EventType::ReturnInitiated, "acme", "R-1", 3));
    let again = store(&pool, &replay).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].index, again[0].sequence), (6, 4));
    let deliveries: i64 = db
        .query_one("SELECT count(*) FROM deliveries", &[])
        .await
        .unwrap()
        .get(0);
    // 2 for the first event, 2 + 0 + 2 + 2 + 1 + 2 for the batch, 2 now.
    assert_eq!(deliveries, 2 + 9 + 2);
    let last: Vec<(String, i64)> = db
        .query(
            "SELECT order_id, last_sequence FROM order_sequences ORDER BY order_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        last,
        [("R-1".into(), 4), ("R-2".into(), 2), ("Z-1".into(), 2)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_partner_gets_its_events_stored_with_held_deliveries() {
    let env = TestEnv::new(1).await;
    env.partner("acme").await;
    env.endpoint("acme", "http://127.0.0.1:9/a", &EventType::ALL)
        .await;
    let db = env.db().await;
    db.batch_execute("UPDATE partners SET status = 'suspended' WHERE id = 'acme'")
        .await
        .unwrap();
    let pool = store::connect(&env.db_url, 2, Duration::from_secs(5)).unwrap();
    let stored = store(&pool, &[event(EventType::OrderConfirmed, "acme", "R-9", 0)]).await;
    assert_eq!(stored.len(), 1);
    // Held: pending, for when the partner is active again.
    assert_eq!(stored[0].deliveries.len(), 1);
    assert!(store(&pool, &[]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_endpoint_keeps_its_history_until_its_events_go() {
    use trackwire::store::deliveries::{
        record_outcomes, AttemptRecord, Outcome, Transition, Trigger,
    };

    let env = TestEnv::new(1).await;
    env.partner("acme").await;
    let (kept, _) = env
        .endpoint("acme", "http://127.0.0.1:9/kept", &EventType::ALL)
        .await;
    let (gone, _) = env
        .endpoint("acme", "http://127.0.0.1:9/gone", &EventType::ALL)
        .await;
    let pool = store::connect(&env.db_url, 2, Duration::from_secs(5)).unwrap();
    let stored = store(&pool, &[event(EventType::OrderConfirmed, "acme", "R-1", 0)]).await;
    let outcome = |delivery_id| Outcome {
        delivery_id,
        attempts: 1,
        charged: 0,
        attempt: Some(AttemptRecord {
            attempt_number: 1,
            trigger: Trigger::Automatic,
            started_at: chrono::Utc::now(),
            latency_ms: 3,
            http_status: Some(200),
            error_class: None,
            error_detail: None,
            response_excerpt: None,
        }),
        transition: Transition::Delivered,
        last_error: None,
    };
    let outcomes: Vec<Outcome> = stored[0]
        .deliveries
        .iter()
        .map(|d| outcome(d.delivery_id))
        .collect();
    let client = pool.get().await.unwrap();
    record_outcomes(&**client, &outcomes).await.unwrap();

    let db = env.db().await;
    db.execute("DELETE FROM endpoints WHERE id = $1", &[&gone.id])
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let left: Vec<(String, i64)> = db
        .query(
            "SELECT d.endpoint_id, count(a.id) FROM deliveries d
             LEFT JOIN attempts a ON a.delivery_id = d.id
             GROUP BY d.endpoint_id ORDER BY d.endpoint_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut want = vec![(kept.id.clone(), 1), (gone.id.clone(), 1)];
    want.sort();
    assert_eq!(left, want, "the deleted endpoint's history stays");
    assert_eq!(
        count("SELECT count(*) FROM deleted_endpoints").await,
        1,
        "with where it pointed"
    );

    // Removing the events (retention) takes the rest along.
    db.execute("DELETE FROM events", &[]).await.unwrap();
    assert_eq!(count("SELECT count(*) FROM deliveries").await, 0);
    assert_eq!(count("SELECT count(*) FROM attempts").await, 0);
    assert_eq!(count("SELECT count(*) FROM deleted_endpoints").await, 0);
}
