//! Figures for the README: SMS per second through Kannel to the SMSC, the
//! time from an event's commit to its SMS at the SMSC with the default
//! pacing, and the time from the OMS change on Kafka to the SMSC through the
//! running service. Run with
//! `scripts/test --test it -- --ignored sms::measure --nocapture`.

use std::time::{Duration, Instant};

use trackwire::schema::EventType;

use super::live::{order_with_phone, LiveSms};
use super::{sms_event, Rig};
use crate::tracking::ingest;

#[actix_rt::test]
#[ignore = "a measurement, not a check: run it on purpose"]
async fn sms_per_second_and_latency_to_the_smsc() {
    let mut rig = Rig::start().await;
    rig.partner("meas", "SHOPME", "1199").await;

    // Throughput: a backlog of 1,000, rate limit out of the way.
    rig.settings.per_partner_per_round = 1_000;
    rig.settings.concurrency = 16;
    let n = 1_000;
    let events: Vec<_> = (0..n)
        .map(|i| sms_event("meas", &format!("t{i}"), EventType::ReturnInitiated, 1))
        .collect();
    for chunk in events.chunks(200) {
        ingest(&rig.app, chunk).await;
    }
    let start = Instant::now();
    assert!(
        rig.drain_until(Duration::from_secs(120), |got| got.len() >= n)
            .await
    );
    let elapsed = start.elapsed();
    let first = rig.smsc.received().first().unwrap().at;
    let last = rig.smsc.received().last().unwrap().at;
    println!(
        "throughput: {n} SMS in {:.2} s = {:.0} SMS/s (SMSC first to last: {:.2} s)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        (last - first).as_secs_f64()
    );

    // Latency with the default pacing (200 ms rounds, 20 SMS/s per
    // partner): the sender runs as in the service, one event at a time.
    let settings = trackwire::sms::sender::SenderSettings {
        per_partner_per_round: 4,
        round_interval: Duration::from_millis(200),
        concurrency: 8,
        ..rig.settings.clone()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(trackwire::sms::sender::run(
        rig.app.state.pool.clone(),
        rig.gateway.clone(),
        rig.app.state.api.tracking_pages.clone(),
        settings,
        stopped,
    ));
    let before = rig.smsc.received().len();
    let mut latencies = Vec::new();
    for i in 0..40 {
        let committed = Instant::now();
        ingest(
            &rig.app,
            &[sms_event(
                "meas",
                &format!("l{i}"),
                EventType::ReturnPickedUp,
                2,
            )],
        )
        .await;
        let smsc = rig.smsc.clone();
        assert!(
            crate::harness::eventually(Duration::from_secs(10), || smsc.received().len()
                > before + i)
            .await
        );
        latencies.push(rig.smsc.received()[before + i].at - committed);
        // Land the next event at another point of the round.
        tokio::time::sleep(Duration::from_millis(37 * (i as u64 % 5))).await;
    }
    let _ = stop.send(true);
    let _ = sender.await;
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "latency commit -> SMSC: p50 {:?}, p95 {:?}, max {:?}",
        pct(50),
        pct(95),
        latencies.last().unwrap()
    );
}

/// p50, p95 and max of `latencies` (sorted here).
fn percentiles(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    format!(
        "p50 {:?}, p95 {:?}, max {:?}",
        pct(50),
        pct(95),
        latencies[latencies.len() - 1]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run it on purpose"]
async fn status_change_on_kafka_to_the_smsc_through_the_service() {
    let live = LiveSms::start().await;
    live.partner("measlive", "SHOPML", "1112").await;
    // The default pacing: 200 ms rounds, 20 SMS a second per partner.
    let _service = live.service(&[]).await;
    let mut latencies = Vec::new();
    for i in 0..30 {
        let before = live.smsc.received().len();
        let row = order_with_phone(&format!("L{i:03}"), "measlive");
        let changed = Instant::now();
        live.env.change("c", None, &row).await;
        let smsc = live.smsc.clone();
        assert!(
            crate::harness::eventually(Duration::from_secs(20), || smsc.received().len() > before)
                .await
        );
        latencies.push(live.smsc.received()[before].at - changed);
        tokio::time::sleep(Duration::from_millis(37 * (i as u64 % 5))).await;
    }
    println!(
        "status change (CDC record sent to Kafka) -> SMSC through trackwire run and Kannel: {}",
        percentiles(&mut latencies)
    );
}
