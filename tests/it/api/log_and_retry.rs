//! The event log (filters, paging, window, detail) and manual retries.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::{assert_problem, Receiver, TestApp};

#[actix_web::test]
async fn the_log_filters_by_type_status_and_time_newest_first() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.endpoint(
        &key,
        "https://hooks.acme.example/",
        &["delivered", "delivery_failed"],
    )
    .await;
    let delivered = app.event("acme", "delivered").await;
    let failed = app.event("acme", "delivery_failed").await;
    let confirmed = app.event("acme", "order_confirmed").await; // no endpoint takes it
    app.sql(&format!(
        "UPDATE deliveries SET state = 'delivered', attempts = 1 WHERE event_id = '{delivered}';
         UPDATE deliveries SET state = 'dead', attempts = 4 WHERE event_id = '{failed}';
         UPDATE events SET ingested_at = ingested_at - interval '1 hour' WHERE id = '{delivered}'"
    ))
    .await;

    let all = app.get("/api/v1/events", &key).await;
    assert_eq!(all.body["total"], 3);
    let ids: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.last(), Some(&delivered.as_str()), "newest first");
    assert!(ids.contains(&confirmed.as_str()));

    let by_type = app.get("/api/v1/events?event_type=delivered", &key).await;
    assert_eq!(by_type.body["items"][0]["id"], delivered);
    assert_eq!(by_type.body["total"], 1);
    for (status, expected) in [
        ("dead", &failed),
        ("failed", &failed),
        ("delivered", &delivered),
    ] {
        let page = app
            .get(&format!("/api/v1/events?status={status}"), &key)
            .await;
        assert_eq!(page.body["total"], 1, "{status}");
        assert_eq!(page.body["items"][0]["id"], expected.as_str(), "{status}");
    }
    assert_eq!(
        app.get("/api/v1/events?status=retrying", &key).await.body["total"],
        0
    );
    let future = app
        .get("/api/v1/events?from=2999-01-01T00:00:00Z", &key)
        .await;
    assert_eq!(future.body["total"], 0);
    let past = app
        .get("/api/v1/events?to=2999-01-01T00:00:00Z", &key)
        .await;
    assert_eq!(past.body["total"], 3);

    let detail = app.get(&format!("/api/v1/events/{failed}"), &key).await;
    assert_eq!(detail.body["payload"]["event_id"], failed);
    assert_eq!(detail.body["payload"]["schema_version"], "v2");
    assert_eq!(detail.body["event"]["deliveries"][0]["status"], "dead");
    assert_problem(
        &app.get("/api/v1/events/evt_nope", &key).await,
        404,
        "not-found",
    );

    for (query, field) in [
        ("status=lost", "status"),
        ("event_type=x", "event_type"),
        ("from=yesterday", "from"),
        ("limit=-1", "limit"),
        ("offset=9999", "offset"),
    ] {
        let answer = app.get(&format!("/api/v1/events?{query}"), &key).await;
        assert_problem(&answer, 422, "invalid-field");
        assert_eq!(answer.body["field"], field, "{query}");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn the_log_pages_through_the_last_500_events_only() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.sql(
        "INSERT INTO events (id, partner_id, order_id, event_type, occurred_at, data, ingested_at)
         SELECT 'evt_' || i, 'acme', 'ord_' || i, 'delivered', now(), '{}'::jsonb,
                now() - make_interval(secs => i)
         FROM generate_series(1, 510) AS i",
    )
    .await;
    let first = app.get("/api/v1/events?limit=200", &key).await;
    assert_eq!(first.body["total"], 510, "every event counts");
    assert_eq!(first.body["items"][0]["id"], "evt_1");
    assert_eq!(first.body["next_offset"], 200);
    let last = app.get("/api/v1/events?limit=200&offset=400", &key).await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 100);
    assert_eq!(last.body["items"][99]["id"], "evt_500");
    assert_eq!(last.body["next_offset"], json!(null));
    app.cleanup().await;
}

/// Polls `check` every 50 ms for up to 10 s.
async fn eventually(mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached within 10 s");
}

#[actix_web::test]
async fn a_manual_retry_redelivers_a_dead_delivery_and_records_a_manual_attempt() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    app.endpoint(&key, &receiver.url, &["delivered"]).await;
    let event = app.event("acme", "delivered").await;
    app.sql(&format!(
        "UPDATE deliveries SET state = 'dead', attempts = 4, finished_at = now(),
                created_at = now() - interval '3 days'
         WHERE event_id = '{event}'"
    ))
    .await;
    app.reload_router().await;

    let detail = app.get(&format!("/api/v1/events/{event}"), &key).await;
    let delivery = detail.body["event"]["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    let retried = app
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/{delivery}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);

    eventually(async || {
        let d = app.get(&format!("/api/v1/events/{event}"), &key).await;
        d.body["event"]["deliveries"][0]["status"] == "delivered"
    })
    .await;
    let d = app.get(&format!("/api/v1/events/{event}"), &key).await;
    let attempts = d.body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["trigger"], "manual");
    assert_eq!(attempts[0]["attempt_number"], 5);
    assert_eq!(receiver.count(), 1);

    let again = app
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/{delivery}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_problem(&again, 409, "conflict");
    for id in ["999999", "abc"] {
        let unknown = app
            .call(
                Method::POST,
                &format!("/api/v1/deliveries/{id}/retry"),
                Some(&key),
                None,
            )
            .await;
        assert_problem(&unknown, 404, "not-found");
    }
    receiver.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_bulk_retry_requeues_the_failed_deliveries_matching_the_filter() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.endpoint(
        &key,
        "https://hooks.acme.example/",
        &["delivered", "delivery_failed"],
    )
    .await;
    let dead = app.event("acme", "delivered").await;
    let retrying = app.event("acme", "delivery_failed").await;
    let ok = app.event("acme", "delivered").await;
    app.sql(&format!(
        "UPDATE deliveries SET state = 'dead', attempts = 4 WHERE event_id = '{dead}';
         UPDATE deliveries SET attempts = 1, next_attempt_at = now() + interval '1 hour' WHERE event_id = '{retrying}';
         UPDATE deliveries SET state = 'delivered', attempts = 1 WHERE event_id = '{ok}'"
    ))
    .await;

    let only_dead = app
        .post(
            "/api/v1/deliveries/retry",
            &key,
            json!({ "status": "dead" }),
        )
        .await;
    assert_eq!(only_dead.status, StatusCode::ACCEPTED);
    assert_eq!(only_dead.body["queued"], 1);
    let by_type = app
        .post(
            "/api/v1/deliveries/retry",
            &key,
            json!({ "event_type": "delivery_failed" }),
        )
        .await;
    assert_eq!(by_type.body["queued"], 1);
    let client = app.state.pool.get().await.unwrap();
    let flagged: i64 = client
        .query_one("SELECT count(*) FROM deliveries WHERE manual_retry_requested AND state = 'pending' AND next_attempt_at <= now()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(flagged, 2);
    let bad = app
        .post(
            "/api/v1/deliveries/retry",
            &key,
            json!({ "status": "delivered" }),
        )
        .await;
    assert_eq!(bad.body["field"], "status");
    app.cleanup().await;
}
