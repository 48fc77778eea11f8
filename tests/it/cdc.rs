//! The real chain end to end: rows inserted and updated in MariaDB reach a
//! partner through Debezium's MariaDB connector, Kafka Connect, a real Kafka
//! broker and trackwire, signed, in order per order, each transition once.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{json, Value};
use trackwire::schema::{mask_phone, EventType};

use crate::harness::{eventually, TestEnv};
use crate::oms::Oms;
use crate::pipeline::verify;
use crate::receiver::{Behavior, Receiver};

/// What the OMS does, one autocommit transaction per statement: every
/// webhook event type, a change that touches no status, a status that is
/// not mapped, an order whose status moves back, and a delete.
const OMS_WORK: &str = "
INSERT INTO orders (id, partner_id, status, merchant_order_ref, customer_id)
    VALUES ('CDC-1', 'acme', 'CONFIRMED', 'M-1', 'cust-1');
INSERT INTO orders (id, partner_id, status) VALUES ('CDC-2', 'acme', 'CONFIRMED');
UPDATE orders SET status = 'OUT_FOR_DELIVERY', rider_name = 'Ravi Kumar',
    rider_phone = '+91 98765 43210', delivery_otp = '4821',
    eta_start = '2026-12-01 10:00:00.000', eta_end = '2026-12-01 11:00:00.000'
    WHERE id = 'CDC-1';
UPDATE orders SET customer_id = 'cust-1b' WHERE id = 'CDC-1';
UPDATE orders SET status = 'OUT_FOR_DELIVERY', rider_name = 'Asha' WHERE id = 'CDC-2';
INSERT INTO orders (id, partner_id, status) VALUES ('CDC-3', 'acme', 'DELIVERED');
UPDATE orders SET status = 'DELIVERY_FAILED', failure_reason_code = 'CUSTOMER_UNAVAILABLE',
    failure_reason = 'Nobody at home', attempt_number = 1 WHERE id = 'CDC-2';
UPDATE orders SET status = 'DELIVERED', delivery_timestamp = '2026-12-01 10:42:00.000',
    delivery_address_confirmed = TRUE, attempt_number = 1 WHERE id = 'CDC-1';
INSERT INTO orders (id, partner_id, status) VALUES ('CDC-4', 'acme', 'PACKING');
UPDATE orders SET status = 'OUT_FOR_DELIVERY' WHERE id = 'CDC-2';
UPDATE orders SET status = 'RETURN_INITIATED', return_id = 'RET-3',
    return_reason_code = 'DAMAGED', return_condition_flags = '[\"opened\", \"damaged_box\"]'
    WHERE id = 'CDC-3';
UPDATE orders SET status = 'CONFIRMED' WHERE id = 'CDC-4';
UPDATE orders SET status = 'DELIVERED', attempt_number = 2 WHERE id = 'CDC-2';
UPDATE orders SET status = 'RETURN_PICKED_UP', pickup_timestamp = '2026-12-01 15:00:00.000'
    WHERE id = 'CDC-3';
DELETE FROM orders WHERE id = 'CDC-4';
";

fn expected() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        (
            "CDC-1",
            vec!["order_confirmed", "out_for_delivery", "delivered"],
        ),
        (
            "CDC-2",
            vec![
                "order_confirmed",
                "out_for_delivery",
                "delivery_failed",
                "out_for_delivery",
                "delivered",
            ],
        ),
        (
            "CDC-3",
            vec!["delivered", "return_initiated", "return_picked_up"],
        ),
        ("CDC-4", vec!["order_confirmed"]),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_mariadb_changes_reach_the_partner_through_debezium_and_kafka() {
    let env = TestEnv::new(3).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let (_, secret) = env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let mut svc = env.service(&[]);
    let oms = Oms::start(&env.brokers, &env.topic).await;

    oms.sql(OMS_WORK).await;
    let want: usize = expected().values().map(Vec::len).sum();
    assert!(
        eventually(Duration::from_secs(60), || rx.acked().len() >= want).await,
        "{want} webhooks, got {}\n{}",
        rx.acked().len(),
        svc.logs()
    );
    // Anything extra (the non-status update, the unmapped status, the
    // delete) would arrive right behind the rest.
    tokio::time::sleep(Duration::from_secs(2)).await;
    svc.assert_running();

    let mut seen = HashSet::new();
    let mut by_order: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in rx.received() {
        verify(&secret, &r);
        let body = r.json();
        assert_eq!(r.header("webhook-id"), body["event_id"]);
        // A redelivery would carry the same webhook-id; none is expected
        // here, and none may carry a new one.
        if seen.insert(r.header("webhook-id").to_owned()) {
            by_order
                .entry(body["order_id"].as_str().unwrap().to_owned())
                .or_default()
                .push(body);
        }
    }
    let got: BTreeMap<&str, Vec<&str>> = by_order
        .iter()
        .map(|(order, events)| {
            let types = events.iter().map(|e| e["event_type"].as_str().unwrap());
            (order.as_str(), types.collect())
        })
        .collect();
    assert_eq!(got, expected(), "each transition once, in order per order");
    assert_mapped_fields(&by_order);
}

/// The columns of the MariaDB row land in the payload fields they map to.
fn assert_mapped_fields(by_order: &BTreeMap<String, Vec<Value>>) {
    let [confirmed, ofd, delivered] = &by_order["CDC-1"][..] else {
        panic!("three events of CDC-1");
    };
    assert_eq!(confirmed["merchant_order_ref"], "M-1");
    assert_eq!(confirmed["customer_id"], "cust-1");
    assert!(confirmed["previous_status"].is_null());
    assert!(confirmed["occurred_at"]
        .as_str()
        .is_some_and(|t| t.starts_with("20")));
    assert_eq!(ofd["previous_status"], "CONFIRMED");
    assert_eq!(ofd["rider_name"], "Ravi Kumar");
    assert_eq!(ofd["rider_phone_masked"], mask_phone("+91 98765 43210"));
    assert_eq!(ofd["delivery_otp"], "4821");
    assert_eq!(
        ofd["estimated_delivery_window"],
        json!({"start": "2026-12-01T10:00:00.000Z", "end": "2026-12-01T11:00:00.000Z"})
    );
    assert_eq!(delivered["customer_id"], "cust-1b");
    assert_eq!(delivered["delivery_timestamp"], "2026-12-01T10:42:00.000Z");
    assert_eq!(delivered["delivery_address_confirmed"], true);
    assert_eq!(delivered["attempt_number"], 1);

    let cdc2 = &by_order["CDC-2"];
    assert_eq!(cdc2[2]["failure_reason_code"], "CUSTOMER_UNAVAILABLE");
    assert_eq!(cdc2[2]["failure_reason"], "Nobody at home");
    assert_eq!(cdc2[3]["previous_status"], "DELIVERY_FAILED");
    assert_eq!(cdc2[4]["attempt_number"], 2);

    let cdc3 = &by_order["CDC-3"];
    assert_eq!(cdc3[1]["return_id"], "RET-3");
    assert_eq!(cdc3[1]["return_reason_code"], "DAMAGED");
    assert_eq!(
        cdc3[1]["return_condition_flags"],
        json!(["opened", "damaged_box"])
    );
    assert_eq!(cdc3[2]["pickup_timestamp"], "2026-12-01T15:00:00.000Z");
    assert_eq!(by_order["CDC-4"][0]["previous_status"], "PACKING");
}
