//! Manual retries against endpoints that cannot take them, and what a
//! delivered retry leaves in the log.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::{assert_problem, Receiver, TestApp};

/// The id of the first delivery of `event`.
async fn delivery_of(app: &TestApp, key: &str, event: &str) -> i64 {
    let detail = app.get(&format!("/api/v1/events/{event}"), key).await;
    detail.body["event"]["deliveries"][0]["id"]
        .as_i64()
        .unwrap()
}

#[actix_web::test]
async fn a_retry_to_a_disabled_endpoint_is_refused_with_a_409() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (id, _) = app
        .endpoint(&key, "https://hooks.acme.example/", &["delivered"])
        .await;
    let event = app.event("acme", "delivered").await;
    app.sql(&format!(
        "UPDATE deliveries SET state = 'dead', attempts = 4, finished_at = now() WHERE event_id = '{event}'"
    ))
    .await;
    let disabled = app
        .call(
            Method::PATCH,
            &format!("/api/v1/endpoints/{id}"),
            Some(&key),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    let delivery = delivery_of(&app, &key, &event).await;

    let one = app
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/{delivery}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_problem(&one, 409, "conflict");
    assert!(
        one.body["detail"].as_str().unwrap().contains("disabled"),
        "{}",
        one.body
    );
    let bulk = app
        .post(
            "/api/v1/deliveries/retry",
            &key,
            json!({ "endpoint_id": id }),
        )
        .await;
    assert_problem(&bulk, 409, "conflict");
    let all = app.post("/api/v1/deliveries/retry", &key, json!({})).await;
    assert_eq!(all.status, StatusCode::ACCEPTED, "{}", all.body);
    assert_eq!(all.body["queued"], 0);
    assert_eq!(all.body["skipped_endpoint_disabled"], 1);
    let d = app.get(&format!("/api/v1/events/{event}"), &key).await;
    assert_eq!(
        d.body["event"]["deliveries"][0]["status"], "dead",
        "left as it was"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_bulk_retry_naming_another_partners_or_an_unknown_endpoint_is_a_404() {
    let app = TestApp::spawn().await;
    let key_a = app.partner("alpha").await;
    let key_b = app.partner("bravo").await;
    let (b_endpoint, _) = app
        .endpoint(&key_b, "https://hooks.bravo.example/", &["delivered"])
        .await;
    for endpoint_id in [b_endpoint.as_str(), "ep_0000000000000000"] {
        let answer = app
            .post(
                "/api/v1/deliveries/retry",
                &key_a,
                json!({ "endpoint_id": endpoint_id }),
            )
            .await;
        assert_problem(&answer, 404, "not-found");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn a_manual_retry_that_delivers_clears_the_last_error() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    app.endpoint(&key, &receiver.url, &["delivered"]).await;
    let event = app.event("acme", "delivered").await;
    app.sql(&format!(
        "UPDATE deliveries SET state = 'dead', attempts = 4, finished_at = now(),
                last_error = 'HTTP 500'
         WHERE event_id = '{event}'"
    ))
    .await;
    app.reload_router().await;
    let delivery = delivery_of(&app, &key, &event).await;
    let retried = app
        .call(
            Method::POST,
            &format!("/api/v1/deliveries/{delivery}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    let mut delivered = serde_json::Value::Null;
    for _ in 0..200 {
        let d = app.get(&format!("/api/v1/events/{event}"), &key).await;
        delivered = d.body["event"]["deliveries"][0].clone();
        if delivered["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    assert_eq!(delivered["last_error"], json!(null), "{delivered}");
    receiver.stop().await;
    app.cleanup().await;
}
