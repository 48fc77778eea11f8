//! The dashboard at 100,000 orders of one partner, and what built-in
//! tracking costs ingest. Prints the figures BENCHMARKS.md quotes and fails
//! when a dashboard query stops using its index or gets slow.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_postgres::types::ToSql;
use trackwire::schema::{EventData, EventType};
use trackwire::store::orders::{self, OrderFilter};

use super::{event, ingest, set_tracking, JOURNEY};
use crate::api::TestApp;

const ORDERS: i64 = 100_000;

/// 100,000 tracked orders of `partner` (a quarter per status of four), one
/// every 10 s back from now, plus 1,000 of another partner.
async fn seed(app: &TestApp, partner: &str) {
    app.sql(&format!(
        "INSERT INTO tracked_orders (partner_id, order_id, token, merchant_order_ref, customer_id,
                                     event_type, status, last_sequence, status_at)
         SELECT '{partner}', 'O-' || i, md5('t' || i), 'REF-' || i, 'CUST-' || (i % 20000),
                (ARRAY['order_confirmed','out_for_delivery','delivered','delivery_failed'])[i % 4 + 1],
                'X', 1, now() - i * interval '10 seconds'
         FROM generate_series(1, {ORDERS}) AS i;
         INSERT INTO tracked_orders (partner_id, order_id, token, event_type, status, last_sequence, status_at)
         SELECT 'other', 'O-' || i, md5('o' || i), 'delivered', 'X', 1, now()
         FROM generate_series(1, 1000) AS i;
         ANALYZE tracked_orders;"
    ))
    .await;
}

/// The median of `runs` timings of `filter`'s first page (50 rows).
async fn median_ms(app: &TestApp, partner: &str, filter: &OrderFilter, runs: usize) -> f64 {
    let client = app.state.pool.get().await.unwrap();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let rows = orders::list(&**client, partner, filter, 51).await.unwrap();
        times.push(started.elapsed());
        assert!(!rows.is_empty(), "{filter:?}");
    }
    times.sort();
    times[runs / 2].as_secs_f64() * 1000.0
}

/// The plan of the dashboard's statement for `filter`, as the store builds it.
async fn plan(app: &TestApp, sql_tail: &str, params: &[&(dyn ToSql + Sync)]) -> String {
    let client = app.state.pool.get().await.unwrap();
    let rows = client
        .query(
            &format!("EXPLAIN SELECT * FROM tracked_orders o WHERE o.partner_id = $1 {sql_tail}"),
            params,
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_web::test]
async fn the_dashboard_stays_fast_with_100_000_orders_of_one_partner() {
    let app = TestApp::spawn().await;
    app.partner("big").await;
    app.partner("other").await;
    seed(&app, "big").await;
    let deep = {
        let client = app.state.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT status_at, order_id FROM tracked_orders WHERE partner_id = 'big'
                 ORDER BY status_at DESC, order_id DESC OFFSET 90000 LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    let cases = [
        ("newest first", OrderFilter::default()),
        (
            "one status",
            OrderFilter {
                event_type: Some(EventType::DeliveryFailed),
                ..OrderFilter::default()
            },
        ),
        (
            "status and last 24 h",
            OrderFilter {
                event_type: Some(EventType::Delivered),
                since: Some(Utc::now() - chrono::Duration::hours(24)),
                ..OrderFilter::default()
            },
        ),
        (
            "search by customer id",
            OrderFilter {
                search: Some("CUST-4242".into()),
                ..OrderFilter::default()
            },
        ),
        (
            "page 1,800 (keyset)",
            OrderFilter {
                after: Some(deep),
                ..OrderFilter::default()
            },
        ),
    ];
    let mut report =
        String::from("dashboard query, 100,000 orders of one partner, median of 21:\n");
    for (name, filter) in &cases {
        let ms = median_ms(&app, "big", filter, 21).await;
        report.push_str(&format!("  {name}: {ms:.2} ms\n"));
        assert!(ms < 50.0, "{name}: {ms:.2} ms");
    }
    eprintln!("{report}");
    for (tail, params) in [
        (
            "ORDER BY o.status_at DESC, o.order_id DESC LIMIT 51",
            vec![],
        ),
        (
            "AND o.event_type = $2 ORDER BY o.status_at DESC, o.order_id DESC LIMIT 51",
            vec!["delivered"],
        ),
    ] {
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&"big"];
        all.extend(params.iter().map(|p| p as &(dyn ToSql + Sync)));
        let shown = plan(&app, tail, &all).await;
        assert!(
            shown.contains("Index Scan") && !shown.contains("Sort"),
            "{shown}"
        );
    }
    app.cleanup().await;
}

/// The time each of `batches` batches of `size` new events of `partner`
/// takes to store, six events per order; `round` keeps each call's events
/// apart from the others'.
async fn ingest_times(
    app: &TestApp,
    partner: &str,
    round: usize,
    batches: usize,
    size: usize,
) -> Vec<Duration> {
    let now = Utc::now();
    let mut times = Vec::with_capacity(batches);
    for b in round * batches..(round + 1) * batches {
        let events: Vec<EventData> = (0..size)
            .map(|i| {
                let n = (b * size + i) as i64;
                let order = format!("{partner}-{}", n / 6);
                event(partner, &order, JOURNEY[(n % 6) as usize], n % 6, now)
            })
            .collect();
        let started = Instant::now();
        let stored = ingest(app, &events).await;
        times.push(started.elapsed());
        assert_eq!(stored.len(), size);
    }
    times
}

/// Median and 90th percentile, in milliseconds.
fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    format!("median {:.1} ms, p90 {:.1} ms", at(0.5), at(0.9))
}

#[actix_web::test]
async fn ingest_cost_with_and_without_built_in_tracking() {
    let app = TestApp::spawn().await;
    app.partner("plain").await;
    app.partner("tracked").await;
    set_tracking(&app, "tracked", true).await;
    let (rounds, batches, size) = (10, 4, 500);
    // A warm-up round each, then the two alternate in short rounds so that
    // neither gets the warmer cache or the quieter moment of a shared machine.
    ingest_times(&app, "plain", 0, 2, size).await;
    ingest_times(&app, "tracked", 0, 2, size).await;
    let mut plain = Vec::new();
    let mut tracked = Vec::new();
    for round in 1..=rounds {
        plain.extend(ingest_times(&app, "plain", round, batches, size).await);
        tracked.extend(ingest_times(&app, "tracked", round, batches, size).await);
    }
    let lookup = {
        let mut client = app.state.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let started = Instant::now();
        for _ in 0..200 {
            trackwire::store::tracking::tracked_partners(&tx, &["plain"])
                .await
                .unwrap();
        }
        started.elapsed().as_secs_f64() * 1e6 / 200.0
    };
    eprintln!(
        "ingest store, {} batches of {size} events each:\n  toggle off: {}\n  toggle on: {}\n  \
         tracked-partner lookup alone (pipelined with the sequence statement): {lookup:.0} us",
        rounds * batches,
        summary(plain),
        summary(tracked),
    );
    let client = app.state.pool.get().await.unwrap();
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM order_timeline WHERE partner_id = 'plain'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing is kept for a partner without the toggle");
    app.cleanup().await;
}
