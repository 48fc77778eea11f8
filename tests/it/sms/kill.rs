//! kill -9 of the service while it sends SMS.
//!
//! What breaks: `trackwire run` (Kafka consumer, outbox sender, Kannel
//! callbacks in one process) gets SIGKILL twice while it works through a
//! backlog of order events, paced at 20 SMS a second through a running
//! Kannel, and is started again each time; half of the orders are
//! published while it is down.
//!
//! What it proves: every SMS reaches the SMSC; the outbox holds one row per
//! event however often Kafka redelivers it; and an SMS goes twice only if
//! its send was under way at a crash. With one send in flight
//! (`sms.concurrency = 1`) that is at most one SMS per kill, and it must be
//! one of the rows the dead process held as `sending`: the duplicates are
//! counted at the SMSC and checked against both bounds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::live::{order_with_phone, LiveSms};
use crate::harness::eventually;

const PARTNER: &str = "smskill";
const ORDERS: usize = 60;

/// The order id of the `n`th order.
fn order_id(n: usize) -> String {
    format!("K{n:03}")
}

/// The order an SMS at the SMSC announces (`… order M-K007 confirmed …`).
fn order_of(text: &str) -> Option<String> {
    let at = text.find("M-K")?;
    Some(text[at + 2..at + 6].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_flow_loses_no_sms_and_resends_at_most_the_one_under_way() {
    let live = LiveSms::start().await;
    live.partner(PARTNER, "SHOPKL", "1105").await;
    let pace = [
        ("TRACKWIRE_SMS__CONCURRENCY", "1"),
        ("TRACKWIRE_SMS__RATE_PER_PARTNER", "20"),
        ("TRACKWIRE_SMS__ROUND_INTERVAL", "200ms"),
    ];
    let mut service = live.service(&pace).await;
    for n in 0..ORDERS / 2 {
        let row = order_with_phone(&order_id(n), PARTNER);
        live.env.change("c", None, &row).await;
    }

    let mut in_flight: Vec<BTreeSet<String>> = Vec::new();
    for (kill_at, publish) in [(10, ORDERS / 2..ORDERS), (40, 0..0)] {
        let smsc = live.smsc.clone();
        assert!(
            eventually(Duration::from_secs(60), || smsc.received().len() >= kill_at).await,
            "only {} SMS before the kill:\n{}",
            live.smsc.received().len(),
            service.logs()
        );
        service.kill();
        // What the dead process held: claimed, maybe under way.
        let sending: BTreeSet<String> = live
            .outbox(PARTNER)
            .await
            .into_iter()
            .filter(|(_, state)| state == "sending")
            .map(|(order, _)| order)
            .collect();
        in_flight.push(sending);
        for n in publish {
            let row = order_with_phone(&order_id(n), PARTNER);
            live.env.change("c", None, &row).await;
        }
        service = live.service(&pace).await;
    }

    let smsc = live.smsc.clone();
    let all_there = || {
        let orders: BTreeSet<String> = smsc
            .received()
            .iter()
            .filter_map(|m| order_of(&m.text))
            .collect();
        orders.len() >= ORDERS
    };
    assert!(
        eventually(Duration::from_secs(90), all_there).await,
        "SMS missing at the SMSC after the restarts: {} received\n{}",
        live.smsc.received().len(),
        service.logs()
    );
    // Past a lease and some rounds more: a late duplicate would show now.
    tokio::time::sleep(Duration::from_secs(5)).await;
    service.kill();

    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for m in live.smsc.received() {
        let order = order_of(&m.text).unwrap_or_else(|| panic!("unexpected SMS {:?}", m.text));
        *copies.entry(order).or_default() += 1;
    }
    let expected: BTreeSet<String> = (0..ORDERS).map(order_id).collect();
    assert_eq!(
        copies.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every SMS reaches the SMSC"
    );
    let twice: Vec<&String> = copies
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(o, _)| o)
        .collect();
    eprintln!(
        "kill -9 twice mid-flow: {} SMS at the SMSC for {ORDERS} events, sent twice: {twice:?}, \
         held as sending at the kills: {in_flight:?}",
        live.smsc.received().len()
    );
    assert!(copies.values().all(|n| *n <= 2), "{copies:?}");
    assert!(
        twice.len() <= in_flight.len(),
        "more than one SMS per kill went twice: {twice:?}"
    );
    for order in &twice {
        assert!(
            in_flight.iter().any(|held| held.contains(*order)),
            "{order} went twice but was not under way at a kill ({in_flight:?})"
        );
    }
    let rows = live.outbox(PARTNER).await;
    assert_eq!(rows.len(), ORDERS, "one outbox row per event: {rows:?}");
    assert!(
        rows.iter().all(|(_, state)| state == "accepted"),
        "{rows:?}"
    );
}
