//! The Standard Webhooks response rules through the running service, with
//! real receivers on loopback: `410 Gone` disables an endpoint until its
//! partner enables it; `429`/`503` with `Retry-After` pause the whole
//! endpoint without spending a retry; without a readable `Retry-After` they
//! are ordinary failures.

use std::time::{Duration, Instant};

use trackwire::dev::feed::new_order;
use trackwire::schema::EventType;
use trackwire::store::endpoints::{self, EndpointChanges};

use crate::harness::{eventually, eventually_count, TestEnv};
use crate::receiver::{Behavior, Receiver};

const WAIT: Duration = Duration::from_secs(40);

async fn one(db: &tokio_postgres::Client, sql: &str, id: &str) -> i64 {
    db.query_one(sql, &[&id]).await.expect("query").get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint_spends_no_retry_and_the_partner_enables_it_again() {
    let env = TestEnv::new(1).await;
    let gone = Receiver::start(Behavior::Status(410)).await;
    let other = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let (ep, _) = env.endpoint("acme", &gone.url(), &EventType::ALL).await;
    env.endpoint("acme", &other.url(), &EventType::ALL).await;
    let _svc = env.service(&[]);
    env.change("c", None, &new_order("A", "acme")).await;
    env.change("c", None, &new_order("B", "acme")).await;

    let db = env.db().await;
    let disabled = eventually_count(
        &db,
        &format!(
            "SELECT count(*) FROM endpoints WHERE id = '{}' AND NOT enabled \
             AND disabled_reason = 'the endpoint answered 410 Gone' AND disabled_at IS NOT NULL",
            ep.id
        ),
        1,
        WAIT,
    )
    .await;
    assert_eq!(disabled, 1, "a 410 disables the endpoint, with its reason");
    let transitions = "SELECT count(*) FROM endpoint_transitions WHERE endpoint_id = $1 \
                       AND kind = 'enabled' AND from_state = 'enabled' AND to_state = 'disabled'";
    assert_eq!(one(&db, transitions, &ep.id).await, 1, "recorded once");

    // The retry schedule is 200 ms: an ordinary failure would have been
    // tried again three times by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let asked = gone.received().len();
    assert!(
        (1..=2).contains(&asked),
        "nothing is sent after the 410s of the attempts under way: {asked}"
    );
    let pending = "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 \
                   AND state = 'pending' AND charged_failures = 0";
    assert_eq!(
        one(&db, pending, &ep.id).await,
        2,
        "both deliveries wait, no retry spent"
    );

    // While disabled, new events are not queued for it; the other endpoint
    // of the same partner goes on.
    env.change("c", None, &new_order("C", "acme")).await;
    assert!(
        eventually(WAIT, || other.acked_ids().len() == 3).await,
        "the partner's other endpoint receives everything"
    );
    let queued = "SELECT count(*) FROM deliveries WHERE endpoint_id = $1";
    assert_eq!(one(&db, queued, &ep.id).await, 2);
    assert_eq!(gone.received().len(), asked);

    // The receiver is back; the partner enables the endpoint (what PATCH and
    // the portal's form do).
    gone.set(Behavior::Status(200));
    let mut client = env.db().await;
    let tx = client.transaction().await.expect("tx");
    let changes = EndpointChanges {
        enabled: Some(true),
        ..EndpointChanges::default()
    };
    let enabled = endpoints::update(&tx, "acme", &ep.id, &changes)
        .await
        .expect("update")
        .expect("endpoint");
    tx.commit().await.expect("commit");
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None, "enabling clears the reason");
    assert_eq!(enabled.disabled_at, None);
    assert!(
        eventually(WAIT, || gone.acked_ids().len() == 2).await,
        "the waiting deliveries resume"
    );
    let delivered = "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 \
                     AND state = 'delivered' AND charged_failures = 0";
    assert_eq!(eventually_delivered(&db, delivered, &ep.id, 2).await, 2);
    let back = "SELECT count(*) FROM endpoint_transitions WHERE endpoint_id = $1 \
                AND kind = 'enabled' AND to_state = 'enabled' AND reason = 'enabled by the partner'";
    assert_eq!(one(&db, back, &ep.id).await, 1);
}

async fn eventually_delivered(db: &tokio_postgres::Client, sql: &str, id: &str, want: i64) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let n = one(db, sql, id).await;
        if n == want || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_in_seconds_pauses_the_whole_endpoint_and_spends_no_retry() {
    let env = TestEnv::new(1).await;
    // Two 429s; with one retry in the schedule, charging them would kill
    // the delivery.
    let rx = Receiver::start(Behavior::Throttle {
        status: 429,
        retry_after: "2",
        times: 2,
    })
    .await;
    env.partner("acme").await;
    let (ep, _) = env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "200ms")]);
    env.change("c", None, &new_order("A", "acme")).await;
    assert!(eventually(WAIT, || !rx.received().is_empty()).await);
    // Another order while the endpoint is paused waits too.
    env.change("c", None, &new_order("B", "acme")).await;
    assert!(eventually(WAIT, || rx.acked_ids().len() == 2).await);

    let arrivals: Vec<Instant> = rx.received().iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 4, "two 429s, then one ACK per order");
    for pair in arrivals[..3].windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(1900),
            "each 429 pauses the endpoint for its Retry-After: {gap:?}"
        );
    }
    let db = env.db().await;
    let sql = "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 \
               AND state = 'delivered' AND charged_failures = 0";
    assert_eq!(eventually_delivered(&db, sql, &ep.id, 2).await, 2);
    let attempts = "SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
                    WHERE d.endpoint_id = $1 AND a.http_status = 429";
    assert_eq!(
        one(&db, attempts, &ep.id).await,
        2,
        "both 429s are in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_date_is_capped_by_configuration_and_an_unreadable_one_is_a_plain_failure() {
    let env = TestEnv::new(1).await;
    let in_an_hour =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let rx = Receiver::start(Behavior::Throttle {
        status: 503,
        retry_after: Box::leak(in_an_hour.into_boxed_str()),
        times: 1,
    })
    .await;
    env.partner("acme").await;
    let (ep, _) = env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let _svc = env.service(&[("TRACKWIRE_DELIVERY__RETRY_AFTER_MAX", "1s")]);
    env.change("c", None, &new_order("A", "acme")).await;
    assert!(eventually(WAIT, || rx.acked_ids().len() == 1).await);
    let arrivals: Vec<Instant> = rx.received().iter().map(|r| r.at).collect();
    let gap = arrivals[1] - arrivals[0];
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(5),
        "an hour asked, the 1 s cap waited: {gap:?}"
    );
    let db = env.db().await;
    let uncharged = "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 \
                     AND state = 'delivered' AND charged_failures = 0";
    assert_eq!(eventually_delivered(&db, uncharged, &ep.id, 1).await, 1);

    // "later" is neither seconds nor a date: an ordinary failure, retried
    // on the 200 ms schedule and charged.
    rx.set(Behavior::Throttle {
        status: 429,
        retry_after: "later",
        times: 1,
    });
    env.change("c", None, &new_order("B", "acme")).await;
    assert!(eventually(WAIT, || rx.acked_ids().len() == 2).await);
    let arrivals: Vec<Instant> = rx.received().iter().map(|r| r.at).collect();
    let gap = arrivals[3] - arrivals[2];
    assert!(
        gap < Duration::from_millis(900),
        "retried on the schedule: {gap:?}"
    );
    let charged = "SELECT count(*) FROM deliveries WHERE endpoint_id = $1 \
                   AND state = 'delivered' AND charged_failures = 1";
    assert_eq!(eventually_delivered(&db, charged, &ep.id, 1).await, 1);
}
