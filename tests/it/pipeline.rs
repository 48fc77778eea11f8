//! The delivery pipeline end to end: CDC record in, signed webhook out.

use std::collections::HashMap;
use std::time::Duration;

use trackwire::dev::feed::{advance, new_order, OrderRow};
use trackwire::schema::{json_schema, mask_phone, EventType, SchemaVersion};
use trackwire::webhook::{self, SigningSecret};

use crate::harness::{eventually, eventually_count, TestEnv};
use crate::receiver::{Behavior, Received, Receiver};

const WAIT: Duration = Duration::from_secs(30);

/// Checks the Standard Webhooks signature of a received request.
pub(crate) fn verify(secret: &SigningSecret, r: &Received) {
    let ts: i64 = r
        .header("webhook-timestamp")
        .parse()
        .expect("timestamp header");
    webhook::verify(
        secret,
        r.header("webhook-id"),
        ts,
        &r.body,
        r.header("webhook-signature"),
        chrono::Utc::now().timestamp(),
        300,
    )
    .expect("signature verifies");
}

/// Moves `row` to `status` and publishes the change.
async fn step(env: &TestEnv, row: &mut OrderRow, status: &str) {
    let next = advance(row, status, chrono::Utc::now());
    env.change("u", Some(row), &next).await;
    *row = next;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_type_arrives_signed_valid_and_with_the_right_values() {
    let env = TestEnv::new(2).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let (_, secret) = env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[]);

    let mut a = new_order("A-1", "acme");
    env.change("c", None, &a).await;
    for s in [
        "OUT_FOR_DELIVERY",
        "DELIVERED",
        "RETURN_INITIATED",
        "RETURN_PICKED_UP",
    ] {
        step(&env, &mut a, s).await;
    }
    let mut b = new_order("B-1", "acme");
    env.change("c", None, &b).await;
    step(&env, &mut b, "OUT_FOR_DELIVERY").await;
    step(&env, &mut b, "DELIVERY_FAILED").await;

    assert!(
        eventually(WAIT, || rx.acked().len() >= 8).await,
        "8 webhooks, got {}",
        rx.acked().len()
    );
    let schema: serde_json::Value = serde_json::from_str(json_schema(SchemaVersion::V1)).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut by_type: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    for r in rx.acked() {
        verify(&secret, &r);
        let body = r.json();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "payload invalid: {errors:?}\n{body}");
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("webhook-id"), body["event_id"]);
        assert_eq!(r.header("webhook-event-type"), body["event_type"]);
        assert_eq!(r.header("webhook-schema-version"), "v1");
        by_type
            .entry(body["event_type"].as_str().unwrap().to_owned())
            .or_default()
            .push(body);
    }
    for t in EventType::ALL {
        assert!(by_type.contains_key(t.as_str()), "no {t} received");
    }
    let ofd = &by_type["out_for_delivery"][0];
    assert_eq!(ofd["rider_name"], "Ravi Kumar");
    assert_eq!(ofd["rider_phone_masked"], mask_phone("+91 98765 43210"));
    assert!(ofd["delivery_otp"].as_str().is_some_and(|o| o.len() == 4));
    assert!(ofd["estimated_delivery_window"]["start"].is_string());
    assert_eq!(ofd["previous_status"], "CONFIRMED");
    assert!(ofd["delivery_timestamp"].is_null());
    let delivered = &by_type["delivered"][0];
    assert_eq!(delivered["order_id"], "A-1");
    assert_eq!(delivered["delivery_address_confirmed"], true);
    assert_eq!(delivered["attempt_number"], 1);
    assert!(delivered["rider_name"].is_null() && delivered["delivery_otp"].is_null());
    let failed = &by_type["delivery_failed"][0];
    assert_eq!(failed["failure_reason_code"], "CUSTOMER_UNAVAILABLE");
    assert_eq!(failed["order_id"], "B-1");
    let initiated = &by_type["return_initiated"][0];
    assert_eq!(initiated["return_id"], "RET-A-1");
    assert_eq!(
        initiated["return_condition_flags"],
        serde_json::json!(["unopened", "tags_attached"])
    );
    assert!(initiated["pickup_timestamp"].is_null());
    assert!(by_type["return_picked_up"][0]["pickup_timestamp"].is_string());
    let confirmed = &by_type["order_confirmed"][0];
    assert_eq!(
        confirmed["merchant_order_ref"],
        format!("M-{}", confirmed["order_id"].as_str().unwrap())
    );
    assert!(confirmed["previous_status"].is_null());
    assert_eq!(confirmed["is_test"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_twice_gets_three_attempts_with_one_webhook_id() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::FailFirst(2)).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[]);
    env.change("c", None, &new_order("O-1", "acme")).await;

    assert!(eventually(WAIT, || rx.acked().len() == 1).await);
    let all = rx.received();
    assert_eq!(all.len(), 3, "two failures then the acknowledgement");
    let ids: Vec<&str> = all.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "same webhook-id on every attempt: {ids:?}"
    );
    let db = env.db().await;
    let delivered = eventually_count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered' AND attempts = 3",
        1,
        WAIT,
    )
    .await;
    assert_eq!(delivered, 1);
    let rows = db
        .query("SELECT attempt_number, http_status, error_class, trigger FROM attempts ORDER BY attempt_number", &[])
        .await
        .unwrap();
    let attempts: Vec<(i32, Option<i32>, Option<String>, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (1, Some(500), Some("http_status".into()), "automatic".into()),
            (2, Some(500), Some("http_status".into()), "automatic".into()),
            (3, Some(200), None, "automatic".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_always_failing_gets_four_attempts_then_the_event_is_dead_and_on_the_dlq() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(500)).await;
    env.partner("acme").await;
    let (ep, _) = env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[]);
    env.change("c", None, &new_order("O-1", "acme")).await;

    let db = env.db().await;
    let dead = eventually_count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'dead'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(dead, 1, "the delivery is dead");
    let attempts: i64 = db
        .query_one("SELECT count(*) FROM attempts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 4);
    assert_eq!(rx.received().len(), 4);
    let letters = env.dead_letters(1, WAIT);
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter["endpoint_id"], ep.id.as_str());
    assert_eq!(letter["attempts"], 4);
    assert_eq!(letter["event_id"], rx.received()[0].header("webhook-id"));
    assert_eq!(letter["payload"]["order_id"], "O-1");
    assert!(letter["reason"].as_str().unwrap().contains("HTTP 500"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_are_quarantined_and_the_partition_moves_on() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[]);

    env.change("c", None, &new_order("G-1", "acme")).await;
    env.publish_raw(b"k1", Some(b"{not json at all")).await;
    env.change("c", None, &new_order("G-2", "acme")).await;
    env.publish_raw(b"k2", Some(br#"{"op":"x","after":{}}"#))
        .await;
    env.publish_raw(b"k3", None).await; // tombstone: skipped, not quarantined
    let mut no_status = trackwire::dev::feed::row_value(&new_order("B-1", "acme"));
    no_status.as_object_mut().unwrap().remove("status");
    let bad_row = serde_json::json!({"op": "c", "before": null, "after": no_status, "source": {}});
    env.publish_raw(
        b"k4",
        Some(serde_json::to_vec(&bad_row).unwrap().as_slice()),
    )
    .await;
    let mut null_partner = trackwire::dev::feed::row_value(&new_order("B-2", "acme"));
    null_partner["partner_id"] = serde_json::Value::Null;
    let bad_row = serde_json::json!({"op": "c", "after": null_partner, "source": {}});
    env.publish_raw(
        b"k5",
        Some(serde_json::to_vec(&bad_row).unwrap().as_slice()),
    )
    .await;
    env.change("c", None, &new_order("G-3", "acme")).await;

    assert!(
        eventually(WAIT, || rx.acked().len() == 3).await,
        "the three good records are delivered"
    );
    // Different orders go out concurrently, so only the set is fixed.
    let mut orders: Vec<String> = rx
        .acked()
        .iter()
        .map(|r| r.json()["order_id"].as_str().unwrap().to_owned())
        .collect();
    orders.sort();
    assert_eq!(orders, ["G-1", "G-2", "G-3"]);
    let db = env.db().await;
    let n = eventually_count(&db, "SELECT count(*) FROM quarantine", 4, WAIT).await;
    assert_eq!(n, 4);
    let rows = db
        .query(
            "SELECT \"offset\", error, payload FROM quarantine ORDER BY \"offset\"",
            &[],
        )
        .await
        .unwrap();
    let found: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(found[0].0, 1);
    assert!(found[0].1.starts_with("not valid JSON"), "{found:?}");
    assert_eq!(
        found[1].1,
        "unknown operation \"x\" (expected c, u, r or d)"
    );
    assert_eq!(found[2].1, "column \"status\" is missing or null");
    assert_eq!(found[3].1, "column \"partner_id\" is missing or null");
    let raw: Vec<u8> = rows[0].get(2);
    assert_eq!(raw, b"{not json at all", "the raw bytes are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_loses_nothing_and_duplicates_keep_their_webhook_id() {
    const EVENTS: usize = 1_000;
    let env = TestEnv::new(4).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    for i in 0..EVENTS {
        env.change("c", None, &new_order(&format!("K-{i}"), "acme"))
            .await;
    }
    let mut svc = env.service(&[]);
    assert!(
        eventually(WAIT, || rx.acked().len() >= EVENTS / 5).await,
        "deliveries start: {}",
        svc.logs()
    );
    svc.kill();
    let before_restart = rx.acked_ids().len();
    assert!(
        before_restart < EVENTS,
        "the kill happened while events were in flight"
    );
    let mut svc = env.service(&[]);
    let all = eventually(Duration::from_secs(60), || rx.acked_ids().len() == EVENTS).await;
    svc.assert_running();
    assert!(
        all,
        "every event delivered after the restart: {} of {EVENTS}",
        rx.acked_ids().len()
    );
    // A duplicate is the same event under the same webhook-id.
    let mut seen: HashMap<String, serde_json::Value> = HashMap::new();
    let acked = rx.acked();
    for r in &acked {
        let body = r.json();
        let id = r.header("webhook-id").to_owned();
        assert_eq!(body["event_id"], id.as_str());
        if let Some(first) = seen.insert(id, body.clone()) {
            assert_eq!(first, body, "a redelivery carries the same event");
        }
    }
    println!(
        "kill -9 test: {EVENTS} events, {before_restart} acknowledged before the kill, {} requests acknowledged in all, {} duplicates",
        acked.len(),
        acked.len() - EVENTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_does_not_hold_back_another_endpoint_of_the_same_partner() {
    let env = TestEnv::new(2).await;
    let hole = Receiver::start(Behavior::BlackHole).await;
    let ok = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    env.endpoint("acme", &hole.url(), &EventType::ALL).await;
    env.endpoint("acme", &ok.url(), &EventType::ALL).await;
    // The black hole keeps every attempt open for the whole timeout, and its
    // window (8) fills long before the 100 events are in.
    let _svc = env.service(&[
        ("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "3s"),
        ("TRACKWIRE_DELIVERY__MAILBOX_CAPACITY", "8"),
        ("TRACKWIRE_DELIVERY__MAX_IN_FLIGHT", "4"),
    ]);
    for i in 0..100 {
        env.change("c", None, &new_order(&format!("H-{i}"), "acme"))
            .await;
    }
    assert!(
        eventually(WAIT, || ok.acked_ids().len() == 100).await,
        "the healthy endpoint got {} of 100 while the other hangs",
        ok.acked_ids().len()
    );
    assert!(
        hole.received().len() <= 4,
        "the hanging endpoint holds at most its in-flight limit"
    );

    // When it recovers, its backlog (mostly parked in the store) drains.
    hole.set(Behavior::Status(200));
    assert!(
        eventually(WAIT, || hole.acked_ids().len() == 100).await,
        "the recovered endpoint got {} of 100",
        hole.acked_ids().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_events_of_one_order_arrive_in_order_even_when_the_first_needed_retries() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::FailFirst(2)).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[]);
    let mut order = new_order("S-1", "acme");
    env.change("c", None, &order).await;
    step(&env, &mut order, "OUT_FOR_DELIVERY").await;

    assert!(eventually(WAIT, || rx.acked().len() == 2).await);
    let seen: Vec<(String, Option<u16>)> = rx
        .received()
        .iter()
        .map(|r| {
            (
                r.json()["event_type"].as_str().unwrap().to_owned(),
                r.answered,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("order_confirmed".to_owned(), Some(500)),
            ("order_confirmed".to_owned(), Some(500)),
            ("order_confirmed".to_owned(), Some(200)),
            ("out_for_delivery".to_owned(), Some(200)),
        ],
        "the second event waits until the first is acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_only_the_endpoints_mapped_to_their_type_and_follow_changes_without_restart() {
    let env = TestEnv::new(1).await;
    let ops = Receiver::start(Behavior::Status(200)).await;
    let crm = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    env.partner("other").await;
    env.endpoint("acme", &ops.url(), &[EventType::OutForDelivery])
        .await;
    let _svc = env.service(&[]);
    let mut order = new_order("R-1", "acme");
    env.change("c", None, &order).await;
    step(&env, &mut order, "OUT_FOR_DELIVERY").await;
    assert!(eventually(WAIT, || ops.acked().len() == 1).await);
    assert_eq!(ops.acked()[0].json()["event_type"], "out_for_delivery");

    // A new endpoint registered while running receives the next events.
    env.endpoint("acme", &crm.url(), &EventType::ALL).await;
    step(&env, &mut order, "DELIVERED").await;
    assert!(
        eventually(WAIT, || crm.acked().len() == 1).await,
        "new endpoint picked up without restart"
    );
    assert_eq!(crm.acked()[0].json()["event_type"], "delivered");
    // Another partner's order reaches neither.
    env.change("c", None, &new_order("X-1", "other")).await;
    step(&env, &mut order, "RETURN_INITIATED").await;
    assert!(eventually(WAIT, || crm.acked().len() == 2).await);
    assert_eq!(ops.acked().len(), 1);
    assert!(crm.acked().iter().all(|r| r.json()["partner_id"] == "acme"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_retry_survives_a_restart_and_keeps_counting_attempts() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(500)).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let settings = [("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "3s,3s,3s")];
    let mut svc = env.service(&settings);
    env.change("c", None, &new_order("P-1", "acme")).await;
    let db = env.db().await;
    let first = eventually_count(&db, "SELECT count(*) FROM attempts", 1, WAIT).await;
    assert_eq!(first, 1);
    svc.kill();
    rx.set(Behavior::Status(200));
    let _svc = env.service(&settings);
    assert!(
        eventually(WAIT, || rx.acked().len() == 1).await,
        "the retry ran after the restart"
    );
    let delivered = eventually_count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered' AND attempts = 2",
        1,
        WAIT,
    )
    .await;
    assert_eq!(delivered, 1, "the restarted process continued the count");
    let numbers: Vec<i32> = db
        .query("SELECT attempt_number FROM attempts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers, [1, 2]);
    let waited = db
        .query_one(
            "SELECT extract(epoch FROM max(started_at) - min(started_at))::float8 FROM attempts",
            &[],
        )
        .await
        .unwrap()
        .get::<_, f64>(0);
    assert!(
        waited >= 2.9,
        "the retry kept its schedule ({waited:.1}s after the first attempt)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_ingest_lanes_every_order_still_arrives_complete_and_in_order() {
    const ORDERS: usize = 150;
    let env = TestEnv::new(4).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    env.partner("zeta").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    env.endpoint("zeta", &rx.url(), &EventType::ALL).await;
    // Three changes per order, spread over four partitions and two lanes,
    // published before the service starts so that batches are full.
    let mut rows: Vec<OrderRow> = (0..ORDERS)
        .map(|i| new_order(&format!("L-{i}"), if i % 2 == 0 { "acme" } else { "zeta" }))
        .collect();
    for row in &rows {
        env.change("c", None, row).await;
    }
    for status in ["OUT_FOR_DELIVERY", "DELIVERED"] {
        for row in &mut rows {
            step(&env, row, status).await;
        }
    }
    let _svc = env.service(&[("TRACKWIRE_KAFKA__INGEST_LANES", "2")]);
    assert!(
        eventually(WAIT, || rx.acked_ids().len() == ORDERS * 3).await,
        "every event delivered: {} of {}",
        rx.acked_ids().len(),
        ORDERS * 3
    );
    // Per order: its three events, once each, in the order they happened.
    let mut per_order: HashMap<String, Vec<String>> = HashMap::new();
    for r in rx.acked() {
        let body = r.json();
        per_order
            .entry(body["order_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["event_type"].as_str().unwrap().to_owned());
    }
    assert_eq!(per_order.len(), ORDERS);
    for (order, types) in per_order {
        assert_eq!(
            types,
            ["order_confirmed", "out_for_delivery", "delivered"],
            "order {order}"
        );
    }
}
