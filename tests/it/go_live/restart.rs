//! A process killed with SIGKILL and started again in place delivers within
//! seconds, not after its own dead leases lapse; readiness says when a
//! process owns no shards; load balancers may probe with HEAD.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trackwire::schema::EventType;
use trackwire::store;

use crate::harness::{eventually, TestEnv};
use crate::receiver::{Behavior, Receiver};

/// Long enough that waiting it out is unmistakable.
const LEASE: &str = "20s";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// One HTTP/1.0 request: the status and the body.
async fn request(addr: &str, method: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Some((status, body))
}

/// Stores an event of `partner` as ingest would, while no process runs.
async fn store_event(env: &TestEnv, partner: &str) -> String {
    let mut data = trackwire::schema::synthetic(EventType::Delivered, partner, chrono::Utc::now());
    data.is_test = false;
    let pool = store::connect(&env.db_url, 1, Duration::from_secs(5)).unwrap();
    let mut db = pool.get().await.unwrap();
    let tx = db.transaction().await.unwrap();
    let event = store::ingest::NewEvent {
        data: &data,
        source: None,
        dispatch_outcome: None,
    };
    store::ingest::store_events(&tx, &[event], &crate::ingest_store::pages())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    data.event_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_restarted_after_a_crash_delivers_within_seconds() {
    let env = TestEnv::new(1).await;
    env.partner("acme").await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.endpoint("acme", &rx.url(), &EventType::ALL).await;
    let http = format!("127.0.0.1:{}", free_port());
    let settings = [
        ("TRACKWIRE_CLUSTER__LEASE", LEASE),
        ("TRACKWIRE_HTTP__LISTEN", http.as_str()),
    ];
    // Delivering proves the first process owns the endpoint's shard.
    let warm_up = store_event(&env, "acme").await;
    let mut first = env.service(&settings);
    let delivered = eventually(Duration::from_secs(30), || {
        rx.acked_ids().contains(&warm_up)
    })
    .await;
    first.assert_running();
    assert!(
        delivered,
        "the first process never delivered:\n{}",
        first.logs()
    );
    first.kill();

    let event_id = store_event(&env, "acme").await;
    let restarted_at = Instant::now();
    let second = env.service(&settings);
    let delivered = eventually(Duration::from_secs(15), || {
        rx.acked_ids().contains(&event_id)
    })
    .await;
    let took = restarted_at.elapsed();
    assert!(delivered, "nothing delivered:\n{}", second.logs());
    eprintln!("delivered {took:?} after the restart");
    assert!(
        took < Duration::from_secs(8),
        "the restarted process waited out its leases ({took:?}):\n{}",
        second.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_missing_shards_and_answers_head() {
    let env = TestEnv::new(1).await;
    let first_http = format!("127.0.0.1:{}", free_port());
    let second_http = format!("127.0.0.1:{}", free_port());
    // One shard: a second live process can only wait for it.
    let first = env.service(&[
        ("TRACKWIRE_CLUSTER__SHARDS", "1"),
        ("TRACKWIRE_HTTP__LISTEN", first_http.as_str()),
    ]);
    let ready = |addr: String| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((200, body)) = request(&addr, "GET", "/health/ready").await {
                return serde_json::from_str::<Value>(&body).unwrap();
            }
            assert!(Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let body = ready(first_http.clone()).await;
    assert_eq!(body["shards"]["owned"], 1, "{body}");
    let head = request(&first_http, "HEAD", "/health/ready").await;
    assert_eq!(head, Some((200, String::new())));

    let second = env.service(&[
        ("TRACKWIRE_CLUSTER__SHARDS", "1"),
        ("TRACKWIRE_HTTP__LISTEN", second_http.as_str()),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some((503, body)) = request(&second_http, "GET", "/health/ready").await {
            break serde_json::from_str::<Value>(&body).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "second never answered:\n{}",
            second.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["failed"], serde_json::json!(["shards"]), "{body}");
    assert_eq!(body["shards"]["owned"], 0);
    let head = request(&second_http, "HEAD", "/health/ready").await;
    assert_eq!(head.map(|(s, _)| s), Some(503));
    // Two live processes on one host never share a name (the second may
    // still be joining: readiness answers before the first heartbeat).
    let db = env.db().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let members = loop {
        let members: Vec<String> = db
            .query("SELECT id FROM cluster_members ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        if members.len() == 2 || Instant::now() > deadline {
            break members;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(members.len(), 2, "{members:?}");
    drop(first);
}
