//! A partner's rate limit on one endpoint, held under a spike three times
//! its rate, through the running service: arrivals at the receiver never
//! exceed the burst plus the rate, the backlog waits in PostgreSQL (beyond
//! the actor's small window), each order's events arrive in order, and the
//! partner's other endpoint, which has no limit, is not slowed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use trackwire::dev::feed::{advance, new_order};
use trackwire::schema::EventType;
use trackwire::store::endpoints::{self, EndpointChanges, RateLimit};

use crate::harness::{eventually, TestEnv};
use crate::receiver::{Behavior, Receiver};

const RATE: u32 = 10;
const BURST: u32 = 2;
const ORDERS: usize = 30;
const EVENTS: usize = ORDERS * 2;

/// Arrival times of the spike's requests (the warm-up event left out).
fn spike_arrivals(rx: &Receiver) -> Vec<Instant> {
    rx.received()
        .iter()
        .filter(|r| r.json()["order_id"] != "W")
        .map(|r| r.at)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_of_three_times_the_limit_is_spaced_durable_in_order_and_slows_no_one_else() {
    let env = TestEnv::new(1).await;
    let limited = Receiver::start(Behavior::Status(200)).await;
    let free = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let (ep, _) = env.endpoint("acme", &limited.url(), &EventType::ALL).await;
    env.endpoint("acme", &free.url(), &EventType::ALL).await;
    let mut db = env.db().await;
    let tx = db.transaction().await.expect("tx");
    let changes = EndpointChanges {
        rate_limit: Some(Some(RateLimit {
            per_second: RATE,
            burst: BURST,
        })),
        ..EndpointChanges::default()
    };
    endpoints::update(&tx, "acme", &ep.id, &changes)
        .await
        .expect("update")
        .expect("endpoint");
    tx.commit().await.expect("commit");
    let _svc = env.service(&[("TRACKWIRE_DELIVERY__MAILBOX_CAPACITY", "8")]);
    // One event first, so the spike meets a service that is consuming.
    env.change("c", None, &new_order("W", "acme")).await;
    assert!(eventually(Duration::from_secs(20), || limited.acked().len() == 1).await);
    assert!(eventually(Duration::from_secs(20), || free.acked().len() == 1).await);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 60 events in 2 s: 30 a second against a limit of 10.
    let spike = Instant::now();
    for i in 0..ORDERS {
        let order = new_order(&format!("S{i}"), "acme");
        env.change("c", None, &order).await;
        let next = advance(&order, "OUT_FOR_DELIVERY", chrono::Utc::now());
        env.change("u", Some(&order), &next).await;
        let due = spike + Duration::from_millis(66 * (i as u64 + 1));
        tokio::time::sleep_until(due.into()).await;
    }
    let published = Instant::now();

    assert!(
        eventually(Duration::from_secs(20), || free.acked().len() == EVENTS + 1).await,
        "the endpoint without a limit gets everything: {} (limited {})",
        free.acked().len(),
        limited.acked().len()
    );
    let free_done = free.acked().last().unwrap().at;
    let free_lag = free_done.saturating_duration_since(published);
    assert!(
        free_lag < Duration::from_secs(2),
        "and is not held back by its neighbour (which needs 6 s): done {free_lag:?} after the spike"
    );
    let backlog: i64 = db
        .query_one(
            "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 AND state = 'pending'",
            &[&ep.id],
        )
        .await
        .expect("count")
        .get(0);
    assert!(
        backlog > 8,
        "the backlog waits in the store, beyond the actor's window of 8: {backlog}"
    );

    assert!(
        eventually(Duration::from_secs(30), || limited.acked().len()
            == EVENTS + 1)
        .await,
        "the limited endpoint gets everything too: {}",
        limited.acked().len()
    );
    let arrivals = spike_arrivals(&limited);
    assert_eq!(arrivals.len(), EVENTS, "nothing failed, nothing sent twice");
    // In any stretch of time, at most the burst plus the rate's share (and
    // one for where the stretch starts).
    for i in 0..arrivals.len() {
        for j in i + 1..arrivals.len() {
            let span = (arrivals[j] - arrivals[i]).as_secs_f64();
            let allowed = f64::from(BURST) + f64::from(RATE) * span + 1.0;
            assert!(
                (j - i + 1) as f64 <= allowed,
                "{} arrivals within {span:.3} s",
                j - i + 1
            );
        }
    }
    // And not much slower than the limit allows either.
    let total = (arrivals[EVENTS - 1] - arrivals[0]).as_secs_f64();
    let free_span = spike_arrivals(&free);
    let free_span = (free_span[EVENTS - 1] - free_span[0]).as_secs_f64();
    let sustained = (EVENTS as f64 - f64::from(BURST)) / total;
    eprintln!(
        "limited: {EVENTS} in {total:.2} s, {sustained:.2}/s sustained; \
         unlimited: {EVENTS} in {free_span:.2} s, done {free_lag:?} after the spike; \
         backlog in the store {backlog}"
    );
    assert!(
        sustained > f64::from(RATE) * 0.7 && sustained < f64::from(RATE) * 1.1,
        "sustained {sustained:.2}/s against a limit of {RATE}/s"
    );

    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for r in limited.received() {
        let body = r.json();
        if body["order_id"] == "W" {
            continue;
        }
        seen.entry(body["order_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["event_type"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), ORDERS);
    for (order, types) in seen {
        assert_eq!(
            types,
            ["order_confirmed", "out_for_delivery"],
            "order {order} arrived out of order"
        );
    }
}
