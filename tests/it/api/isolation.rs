//! Tenant isolation: with partner A's key, every route naming partner B's
//! endpoint, event or delivery answers 404 (as if it did not exist), B's
//! data is never listed, and nothing of B's changes.

use actix_web::http::Method;
use serde_json::{json, Value};

use super::{assert_problem, TestApp};

#[actix_web::test]
async fn partner_a_can_neither_see_nor_touch_partner_b() {
    let app = TestApp::spawn().await;
    let key_a = app.partner("alpha").await;
    let key_b = app.partner("bravo").await;
    app.endpoint(&key_a, "https://hooks.alpha.example/", &["delivered"])
        .await;
    let (b_endpoint, _) = app
        .endpoint(&key_b, "https://hooks.bravo.example/", &["delivered"])
        .await;
    let b_event = app.event("bravo", "delivered").await;
    app.sql(&format!(
        "UPDATE deliveries SET state = 'dead', attempts = 4 WHERE event_id = '{b_event}'"
    ))
    .await;
    let b_detail = app.get(&format!("/api/v1/events/{b_event}"), &key_b).await;
    let b_delivery = b_detail.body["event"]["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    let before = b_state(&app, &b_endpoint).await;

    let ep = format!("/api/v1/endpoints/{b_endpoint}");
    let matrix: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, ep.clone(), None),
        (Method::PATCH, ep.clone(), Some(json!({ "enabled": false }))),
        (Method::DELETE, ep.clone(), None),
        (Method::POST, format!("{ep}/rotate-secret"), None),
        (Method::POST, format!("{ep}/test"), Some(json!({}))),
        (Method::GET, format!("/api/v1/events/{b_event}"), None),
        (
            Method::POST,
            format!("/api/v1/deliveries/{b_delivery}/retry"),
            None,
        ),
    ];
    for (method, path, body) in matrix {
        let answer = app.call(method.clone(), &path, Some(&key_a), body).await;
        assert_problem(&answer, 404, "not-found");
        assert!(
            !answer.body.to_string().contains("bravo"),
            "{method} {path} leaks: {}",
            answer.body
        );
    }

    let endpoints = app.get("/api/v1/endpoints", &key_a).await;
    assert_eq!(endpoints.body["items"].as_array().unwrap().len(), 1);
    assert!(!endpoints.body.to_string().contains(&b_endpoint));
    let events = app.get("/api/v1/events", &key_a).await;
    assert_eq!(events.body["total"], 0);
    for query in ["status=dead", "status=failed", "event_type=delivered"] {
        let page = app.get(&format!("/api/v1/events?{query}"), &key_a).await;
        assert_eq!(page.body["total"], 0, "{query}");
    }
    let bulk = app
        .post(
            "/api/v1/deliveries/retry",
            &key_a,
            json!({ "status": "dead", "endpoint_id": b_endpoint }),
        )
        .await;
    assert_problem(&bulk, 404, "not-found");

    assert_eq!(
        b_state(&app, &b_endpoint).await,
        before,
        "nothing of B's changed"
    );
    app.cleanup().await;
}

/// B's endpoint and delivery as stored, to compare before and after.
async fn b_state(app: &TestApp, endpoint: &str) -> String {
    let client = app.state.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT e.enabled::text || e.updated_at::text
                    || (SELECT count(*) FROM endpoint_secrets s WHERE s.endpoint_id = e.id)::text
                    || (SELECT string_agg(d.state || d.attempts || d.manual_retry_requested, ',')
                        FROM deliveries d WHERE d.endpoint_id = e.id)
             FROM endpoints e WHERE e.id = $1",
            &[&endpoint],
        )
        .await
        .unwrap();
    row.get(0)
}
