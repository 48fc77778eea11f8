//! Suspending a partner pauses its deliveries rather than dropping its
//! events: what arrives meanwhile is stored and held, and goes out on
//! activation, except what waited longer than `delivery.max_age` (dead).

use std::time::Duration;

use trackwire::dev::feed::new_order;
use trackwire::schema::EventType;
use trackwire::store::partners;

use crate::harness::{eventually, eventually_count, TestEnv};
use crate::receiver::{Behavior, Receiver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_suspended_partner_are_held_and_sent_on_activation() {
    let env = TestEnv::new(1).await;
    env.partner("acme").await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let db = env.db().await;
    partners::set_status(&db, "acme", "suspended")
        .await
        .unwrap();
    let svc = env.service(&[("TRACKWIRE_DELIVERY__MAX_AGE", "1h")]);

    for id in ["H-1", "H-2", "H-old"] {
        env.change("c", None, &new_order(id, "acme")).await;
    }
    let held = eventually_count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'pending'",
        3,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        held,
        3,
        "events of a suspended partner are held:\n{}",
        svc.logs()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.received().len(), 0, "nothing is sent while suspended");
    // One of them has waited past delivery.max_age.
    db.execute(
        "UPDATE deliveries SET created_at = now() - interval '2 hours'
         WHERE order_id = 'H-old'",
        &[],
    )
    .await
    .unwrap();

    partners::set_status(&db, "acme", "active").await.unwrap();

    let sent = eventually(Duration::from_secs(15), || rx.acked().len() >= 2).await;
    assert!(sent, "held events go out on activation:\n{}", svc.logs());
    let dead = eventually_count(
        &db,
        "SELECT count(*) FROM deliveries WHERE state = 'dead' AND order_id = 'H-old'",
        1,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(dead, 1, "past delivery.max_age it is dead:\n{}", svc.logs());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.acked().len(), 2);
}
