//! Figures for the README: SMS per second through Kannel to the SMSC, and
//! the time from an event's commit to its SMS at the SMSC with the default
//! pacing. Run with `cargo test --locked --test it -- --ignored sms::measure`.

use std::time::{Duration, Instant};

use trackwire::schema::EventType;

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
