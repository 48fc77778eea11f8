//! The rolling ACK rate survives a restart: a process killed with SIGKILL
//! and started again reports the attempts of the last window, not zero.

use std::time::{Duration, Instant};

use trackwire::schema::EventType;

use crate::harness::TestEnv;
use crate::receiver::{Behavior, Receiver};

/// The stored window of the only endpoint, once written after `since`.
async fn window_written_after(
    env: &TestEnv,
    since: chrono::DateTime<chrono::Utc>,
    wait: Duration,
) -> Option<(i64, i64)> {
    let db = env.db().await;
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let row = db
            .query_opt(
                "SELECT window_attempts, window_acked FROM endpoint_health
                 WHERE updated_at > $1 AND window_attempts > 0",
                &[&since],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return Some((row.get(0), row.get(1)));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ack_window_is_rebuilt_after_a_restart() {
    let env = TestEnv::new(1).await;
    env.partner("acme").await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let settings = [("TRACKWIRE_HEALTH__SNAPSHOT_INTERVAL", "200ms")];
    let mut first = env.service(&settings);
    let started = chrono::Utc::now();
    for i in 0..3 {
        let order = trackwire::dev::feed::new_order(&format!("W-{i}"), "acme");
        env.change("c", None, &order).await;
    }
    let seen = loop {
        match window_written_after(&env, started, Duration::from_secs(30)).await {
            Some((3, acked)) => break acked,
            Some(_) => continue,
            None => panic!("no window of 3 stored:\n{}", first.logs()),
        }
    };
    assert_eq!(seen, 3);
    first.kill();

    let killed = chrono::Utc::now();
    let second = env.service(&settings);
    let after = window_written_after(&env, killed, Duration::from_secs(15)).await;
    assert_eq!(
        after,
        Some((3, 3)),
        "the restarted process forgot the window:\n{}",
        second.logs()
    );
}
