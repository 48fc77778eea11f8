//! Endpoint self-protection and the guarantees under faults: circuit
//! breaker, ACK rate and at-risk flag, isolation, SSRF, supervision, graceful
//! shutdown and scale-out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use trackwire::dev::feed::{advance, new_order};
use trackwire::schema::EventType;

use crate::harness::{count, eventually, eventually_count, TestEnv};
use crate::receiver::{Behavior, Receiver};

const WAIT: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_spends_no_retries_while_open_and_one_probe_closes_it_and_drains_in_order(
) {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(500)).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    // Retries are far away, so every attempt after the first few is a probe.
    let _svc = env.service(&[
        ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "60s,60s,60s"),
        ("TRACKWIRE_BREAKER__CONSECUTIVE_FAILURES", "3"),
        ("TRACKWIRE_BREAKER__COOLDOWN", "500ms"),
        ("TRACKWIRE_BREAKER__MAX_COOLDOWN", "500ms"),
    ]);
    let mut a = new_order("A", "acme");
    env.change("c", None, &a).await;
    for status in ["OUT_FOR_DELIVERY", "DELIVERED"] {
        let next = advance(&a, status, chrono::Utc::now());
        env.change("u", Some(&a), &next).await;
        a = next;
    }
    for id in ["B", "C", "D", "E"] {
        env.change("c", None, &new_order(id, "acme")).await;
    }
    let db = env.db().await;
    let opened = eventually_count(
        &db,
        "SELECT count(*) FROM endpoint_transitions WHERE kind = 'breaker' AND to_state = 'open'",
        2,
        WAIT,
    )
    .await;
    assert!(
        opened >= 2,
        "the breaker opened, and a failed probe opened it again"
    );
    // Probes keep failing for a while; none of them is charged.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let probes = count(&db, "SELECT count(*) FROM attempts").await;
    assert!(
        probes > 5,
        "probes were sent while open ({probes} attempts)"
    );
    assert_eq!(
        count(
            &db,
            "SELECT coalesce(max(charged_failures), 0)::bigint FROM deliveries"
        )
        .await,
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM deliveries WHERE state = 'dead'").await,
        0
    );

    rx.set(Behavior::Status(200));
    assert!(
        eventually(WAIT, || rx.acked().len() == 7).await,
        "the backlog drains: {}",
        rx.acked().len()
    );
    let closed = eventually_count(
        &db,
        "SELECT count(*) FROM endpoint_transitions WHERE from_state = 'half_open' AND to_state = 'closed'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(closed, 1);
    let order_a: Vec<String> = rx
        .acked()
        .iter()
        .filter(|r| r.json()["order_id"] == "A")
        .map(|r| r.json()["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        order_a,
        ["order_confirmed", "out_for_delivery", "delivered"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_one_request_in_five_is_flagged_at_risk_and_cleared_when_it_recovers() {
    let env = TestEnv::new(2).await;
    let rx = Receiver::start(Behavior::FailEvery(5)).await;
    env.partner("acme").await;
    let (ep, _) = env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[
        ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "100ms,100ms,100ms"),
        ("TRACKWIRE_HEALTH__SNAPSHOT_INTERVAL", "200ms"),
        ("TRACKWIRE_HEALTH__AT_RISK_MIN_ATTEMPTS", "20"),
        ("TRACKWIRE_HEALTH__AT_RISK_THRESHOLD", "0.9"),
    ]);
    for i in 0..40 {
        env.change("c", None, &new_order(&format!("R-{i}"), "acme"))
            .await;
    }
    let db = env.db().await;
    let sql = format!(
        "SELECT count(*) FROM endpoint_health WHERE endpoint_id = '{}' AND at_risk",
        ep.id
    );
    assert_eq!(
        eventually_count(&db, &sql, 1, WAIT).await,
        1,
        "flagged at risk"
    );
    let reason: String = db
        .query_one(
            "SELECT at_risk_reason FROM endpoint_health WHERE endpoint_id = $1",
            &[&ep.id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(reason.contains("ACK rate"), "{reason}");

    rx.set(Behavior::Status(200));
    for i in 0..200 {
        env.change("c", None, &new_order(&format!("G-{i}"), "acme"))
            .await;
    }
    let sql = format!(
        "SELECT count(*) FROM endpoint_health WHERE endpoint_id = '{}' AND NOT at_risk",
        ep.id
    );
    assert_eq!(
        eventually_count(&db, &sql, 1, WAIT).await,
        1,
        "cleared after recovery"
    );
    let transitions: Vec<(String, String)> = db
        .query(
            "SELECT from_state, to_state FROM endpoint_transitions WHERE kind = 'at_risk' ORDER BY at, id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        transitions,
        vec![
            ("ok".to_owned(), "at_risk".to_owned()),
            ("at_risk".to_owned(), "ok".to_owned())
        ],
        "raised once, cleared once"
    );
}

/// Publishes `per_partner` events for each partner and returns when each
/// order was published.
async fn publish_load(
    env: &TestEnv,
    partners: &[String],
    per_partner: usize,
) -> HashMap<String, Instant> {
    let mut published = HashMap::new();
    for i in 0..per_partner {
        for p in partners {
            let id = format!("{p}-{i}");
            published.insert(id.clone(), Instant::now());
            env.change("c", None, &new_order(&id, p)).await;
        }
    }
    published
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs 20 endpoints (4 partners x 5) with `bad` of them misbehaving as
/// given; returns the latencies seen by the healthy ones.
async fn twenty_endpoints(bad: &[Behavior]) -> Vec<Duration> {
    const PER_PARTNER: usize = 50;
    let env = TestEnv::new(4).await;
    let partners: Vec<String> = (0..4).map(|i| format!("p{i}")).collect();
    let mut healthy = Vec::new();
    for (n, p) in partners.iter().enumerate() {
        env.partner(p).await;
        for k in 0..5 {
            let behavior = bad.get(n * 5 + k).copied().unwrap_or(Behavior::Status(200));
            let rx = Receiver::start(behavior).await;
            env.endpoint(p, &rx.url(), &EventType::ALL).await;
            if matches!(behavior, Behavior::Status(200)) {
                healthy.push((p.clone(), rx));
            }
        }
    }
    let _svc = env.service(&[("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "2s")]);
    // Let the consumer join before the clock starts.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let published = publish_load(&env, &partners, PER_PARTNER).await;
    for (p, rx) in &healthy {
        assert!(
            eventually(WAIT, || rx.acked_ids().len() == PER_PARTNER).await,
            "healthy endpoint of {p} got {} of {PER_PARTNER}",
            rx.acked_ids().len()
        );
    }
    let mut latencies: Vec<Duration> = healthy
        .iter()
        .flat_map(|(_, rx)| rx.acked())
        .map(|r| {
            r.at.duration_since(published[r.json()["order_id"].as_str().unwrap()])
        })
        .collect();
    latencies.sort();
    latencies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_holes_and_failing_endpoints_do_not_cost_the_healthy_ones_any_event() {
    let baseline = twenty_endpoints(&[]).await;
    let bad = [
        Behavior::BlackHole,
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(500),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::BlackHole,
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(200),
        Behavior::Status(500),
    ];
    let faulty = twenty_endpoints(&bad).await;
    assert_eq!(baseline.len(), 20 * 50);
    assert_eq!(faulty.len(), 16 * 50);
    println!(
        "isolation: healthy endpoints' latency from publish to receipt, all 20 healthy: p50 {:?} p99 {:?}; \
         with 2 black holes and 2 failing: p50 {:?} p99 {:?} (p99 ratio {:.2})",
        percentile(&baseline, 0.5),
        percentile(&baseline, 0.99),
        percentile(&faulty, 0.5),
        percentile(&faulty, 0.99),
        percentile(&faulty, 0.99).as_secs_f64() / percentile(&baseline, 0.99).as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_resolving_to_loopback_is_refused_at_connect_time_unless_allowlisted() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    // Stored directly: registration would refuse it too, but a name can
    // start resolving to an internal address after registration.
    let url = format!("http://localhost:{}/hooks", rx.addr.port());
    env.endpoint("acme", &url, &EventType::ALL).await;
    let _svc = env.service(&[("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "100ms")]);
    env.change("c", None, &new_order("S-1", "acme")).await;
    let db = env.db().await;
    let blocked = eventually_count(
        &db,
        "SELECT count(*) FROM attempts WHERE error_class = 'blocked'",
        2,
        WAIT,
    )
    .await;
    assert_eq!(blocked, 2, "both attempts refused before connecting");
    let detail: String = db
        .query_one("SELECT error_detail FROM attempts LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(detail.contains("internal address"), "{detail}");
    assert!(rx.received().is_empty(), "nothing reached the receiver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_endpoint_actor_restarts_only_that_actor_and_loses_nothing() {
    let env = TestEnv::new(1).await;
    let first = Receiver::start(Behavior::Status(200)).await;
    let second = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let (a, _) = env.endpoint("acme", &first.url(), &EventType::ALL).await;
    let (b, _) = env.endpoint("acme", &second.url(), &EventType::ALL).await;
    let svc = env.service(&[("TRACKWIRE_DELIVERY__FAULT_INJECTION_PANIC_ORDER", "PANIC-1")]);
    for id in ["N-1", "N-2", "PANIC-1", "N-3", "N-4"] {
        env.change("c", None, &new_order(id, "acme")).await;
    }
    assert!(
        eventually(WAIT, || first.acked_ids().len() == 5
            && second.acked_ids().len() == 5)
        .await
    );
    let logs = svc.logs();
    let restarts: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("actor restarting"))
        .collect();
    assert_eq!(
        restarts.len(),
        1,
        "exactly one restart:\n{}",
        restarts.join("\n")
    );
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains("endpoint actor panicked"))
            .count(),
        1
    );
    let restarted_a = restarts[0].contains(&a.id);
    let restarted_b = restarts[0].contains(&b.id);
    assert!(
        restarted_a ^ restarted_b,
        "the restart names one of the two endpoints: {}",
        restarts[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_attempts_in_flight_finish_and_records_them() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Delay(Duration::from_millis(1500))).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let mut svc = env.service(&[]);
    for i in 0..5 {
        env.change("c", None, &new_order(&format!("T-{i}"), "acme"))
            .await;
    }
    assert!(
        eventually(WAIT, || rx.received().len() == 5).await,
        "five attempts under way"
    );
    assert!(svc.terminate(), "a clean exit:\n{}", svc.logs());
    let db = env.db().await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM deliveries WHERE state = 'delivered'"
        )
        .await,
        5
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM attempts WHERE http_status = 200").await,
        5
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM shard_leases WHERE owner IS NOT NULL"
        )
        .await,
        0,
        "leases given back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_endpoints_and_the_survivor_takes_over_a_killed_one() {
    const PER_PARTNER: usize = 60;
    let env = TestEnv::new(4).await;
    let partners: Vec<String> = (0..2).map(|i| format!("p{i}")).collect();
    let mut receivers = Vec::new();
    for p in &partners {
        env.partner(p).await;
        for _ in 0..5 {
            let rx = Receiver::start(Behavior::Status(200)).await;
            env.endpoint(p, &rx.url(), &EventType::ALL).await;
            receivers.push(rx);
        }
    }
    let mut one = env.service(&[]);
    let _two = env.service(&[]);
    let db = env.db().await;
    let owners = eventually_count(
        &db,
        "SELECT count(DISTINCT owner) FROM shard_leases WHERE owner IS NOT NULL",
        2,
        WAIT,
    )
    .await;
    assert_eq!(owners, 2, "both processes hold shards");
    publish_load(&env, &partners, PER_PARTNER / 2).await;
    assert!(
        eventually(WAIT, || receivers
            .iter()
            .all(|r| r.acked_ids().len() == PER_PARTNER / 2))
        .await
    );
    one.kill();
    publish_load(&env, &partners, PER_PARTNER).await;
    // The second load creates the first half's orders again (new changes,
    // so new events) and as many more: 30 + 60 events per endpoint in all.
    let want = PER_PARTNER / 2 + PER_PARTNER;
    let all = eventually(Duration::from_secs(60), || {
        receivers.iter().all(|r| r.acked_ids().len() == want)
    })
    .await;
    let got: Vec<usize> = receivers.iter().map(|r| r.acked_ids().len()).collect();
    assert!(
        all,
        "every endpoint got every event after the kill: {got:?}"
    );
    let owners = eventually_count(
        &db,
        "SELECT count(DISTINCT owner) FROM shard_leases WHERE expires_at > now()",
        1,
        WAIT,
    )
    .await;
    assert_eq!(owners, 1, "the survivor holds every shard");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_wide_attempt_limit_holds_and_waiting_does_not_count_against_the_timeout() {
    const EVENTS: usize = 30;
    const ENDPOINTS: usize = 4;
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Delay(Duration::from_millis(50))).await;
    env.partner("acme").await;
    for i in 0..ENDPOINTS {
        env.endpoint("acme", &format!("{}/{i}", rx.url()), &EventType::ALL)
            .await;
    }
    for i in 0..EVENTS {
        env.change("c", None, &new_order(&format!("S-{i}"), "acme"))
            .await;
    }
    // 4 endpoints x 16 attempts each could run 64 at once; the process takes
    // 3. The queue ahead of the last attempts (about 40 x 50 ms) is longer
    // than their timeout, which must therefore start only once they go.
    let _svc = env.service(&[
        ("TRACKWIRE_DELIVERY__MAX_ATTEMPTS_IN_FLIGHT", "3"),
        ("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "1s"),
    ]);
    assert!(
        eventually(WAIT, || rx.acked().len() >= EVENTS * ENDPOINTS).await,
        "every delivery made: {} of {}",
        rx.acked().len(),
        EVENTS * ENDPOINTS
    );
    assert!(
        rx.peak_concurrency() <= 3,
        "at most 3 at once, saw {}",
        rx.peak_concurrency()
    );
    assert!(
        rx.peak_concurrency() > 1,
        "the limit is used, not a queue of one"
    );
    let db = env.db().await;
    let recorded = eventually_count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
        (EVENTS * ENDPOINTS) as i64,
        WAIT,
    )
    .await;
    assert_eq!(
        recorded,
        (EVENTS * ENDPOINTS) as i64,
        "every delivery recorded"
    );
    let failed: i64 = db
        .query_one(
            "SELECT count(*) FROM attempts WHERE error_class IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(failed, 0, "no attempt timed out while waiting for its turn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_gets_one_attempt_at_a_time_until_one_succeeds() {
    const EVENTS: usize = 20;
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::SlowFail(Duration::from_millis(100))).await;
    env.partner("acme").await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    for i in 0..EVENTS {
        env.change("c", None, &new_order(&format!("F-{i}"), "acme"))
            .await;
    }
    // Quick retries, and a breaker that stays closed: only the failing
    // rule limits what runs at once.
    let _svc = env.service(&[
        (
            "TRACKWIRE_DELIVERY__RETRY_SCHEDULE",
            "200ms,200ms,200ms,200ms",
        ),
        ("TRACKWIRE_DELIVERY__JITTER", "0"),
        ("TRACKWIRE_BREAKER__CONSECUTIVE_FAILURES", "1000"),
        ("TRACKWIRE_BREAKER__MIN_ATTEMPTS", "1000000"),
    ]);
    // The first wave goes out together, before any attempt has failed: at
    // most max_in_flight (16) of them. Every later attempt starts only when
    // none is in flight, so it arrives at least the receiver's 100 ms after
    // the one before it, however loaded the machine is.
    assert!(
        eventually(WAIT, || rx.received().len() >= 16 + 10).await,
        "retries keep coming: {} requests",
        rx.received().len()
    );
    assert!(
        rx.peak_concurrency() > 1,
        "a healthy start runs attempts side by side"
    );
    let mut arrivals: Vec<std::time::Instant> = rx.received().iter().map(|r| r.at).collect();
    arrivals.sort();
    let later = &arrivals[16..];
    let overlapping = later
        .windows(2)
        .filter(|w| w[1] - w[0] < Duration::from_millis(90))
        .count();
    assert_eq!(
        overlapping, 0,
        "one at a time while failing: {overlapping} attempts started while another was in flight"
    );

    // One success opens them all again.
    rx.set(Behavior::Delay(Duration::from_millis(100)));
    rx.reset_peak();
    for i in 0..EVENTS {
        env.change("c", None, &new_order(&format!("G-{i}"), "acme"))
            .await;
    }
    assert!(
        eventually(WAIT, || rx.peak_concurrency() > 1).await,
        "after a success, attempts run side by side again"
    );
}
