//! Partner endpoint routes: CRUD, the limit, rotation, test events, bad input.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;
use trackwire::webhook::{self, SigningSecret};

use super::{assert_problem, Receiver, TestApp, OPERATOR};

#[actix_web::test]
async fn a_partner_creates_reads_updates_and_deletes_an_endpoint() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;

    let created = app
        .create_endpoint(
            &key,
            json!({ "url": "https://crm.acme.example/hooks", "event_types": ["delivered", "order_confirmed"], "description": "CRM" }),
        )
        .await;
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(
        created["event_types"],
        json!(["order_confirmed", "delivered"])
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/endpoints/{id}");

    let read = app.get(&path, &key).await;
    assert_eq!(read.body["url"], "https://crm.acme.example/hooks");
    assert!(
        read.body.get("secret").is_none(),
        "the secret is shown only once"
    );
    assert_eq!(
        app.get("/api/v1/endpoints", &key).await.body["items"][0]["id"],
        id
    );
    assert_eq!(
        app.get("/api/v1/admin/endpoints", OPERATOR).await.body["items"][0]["id"],
        id
    );

    let patched = app
        .call(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({ "enabled": false, "event_types": ["delivery_failed"] })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(patched.body["event_types"], json!(["delivery_failed"]));
    assert_eq!(patched.body["url"], "https://crm.acme.example/hooks");

    let deleted = app.call(Method::DELETE, &path, Some(&key), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get(&path, &key).await, 404, "not-found");
    assert_problem(
        &app.call(Method::DELETE, &path, Some(&key), None).await,
        404,
        "not-found",
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_partner_can_have_at_most_five_endpoints() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    for i in 0..5 {
        app.endpoint(
            &key,
            &format!("https://hooks.acme.example/{i}"),
            &["delivered"],
        )
        .await;
    }
    let sixth = app
        .post(
            "/api/v1/endpoints",
            &key,
            json!({ "url": "https://hooks.acme.example/6", "event_types": ["delivered"] }),
        )
        .await;
    assert_problem(&sixth, 409, "endpoint-limit");
    assert_eq!(
        app.get("/api/v1/endpoints", &key).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn rotation_keeps_the_old_secret_signing_for_the_grace_period() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (id, old) = app
        .endpoint(&key, "https://hooks.acme.example/", &["delivered"])
        .await;

    let rotated = app
        .call(
            Method::POST,
            &format!("/api/v1/endpoints/{id}/rotate-secret?grace_period_secs=3600"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        app.get(&format!("/api/v1/endpoints/{id}"), &key).await.body["active_secrets"],
        2
    );

    let ended = app
        .call(
            Method::POST,
            &format!("/api/v1/endpoints/{id}/rotate-secret?grace_period_secs=0"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/v1/endpoints/{id}"), &key).await.body["active_secrets"],
        1
    );

    let too_long = app
        .call(
            Method::POST,
            &format!("/api/v1/endpoints/{id}/rotate-secret?grace_period_secs=99999999"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(too_long.body["field"], "grace_period_secs");
    let not_a_number = app
        .call(
            Method::POST,
            &format!("/api/v1/endpoints/{id}/rotate-secret?grace_period_secs=soon"),
            Some(&key),
            None,
        )
        .await;
    assert_problem(&not_a_number, 422, "invalid-field");
    assert_eq!(not_a_number.body["field"], "grace_period_secs");
    app.cleanup().await;
}

#[actix_web::test]
async fn bad_endpoint_input_gets_a_problem_naming_the_field_never_a_500() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let cases = [
        (
            json!({ "url": "http://crm.example.com/", "event_types": ["delivered"] }),
            "url",
        ),
        (
            json!({ "url": "https://10.0.0.7/hooks", "event_types": ["delivered"] }),
            "url",
        ),
        (
            json!({ "url": "https://169.254.169.254/latest", "event_types": ["delivered"] }),
            "url",
        ),
        (
            json!({ "url": "not a url", "event_types": ["delivered"] }),
            "url",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": [] }),
            "event_types",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["delivered", "shipped"] }),
            "event_types[1]",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": "delivered" }),
            "event_types",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["delivered"], "colour": "red" }),
            "colour",
        ),
        (json!({ "event_types": ["delivered"] }), "url"),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["delivered"], "schema_version": "v9" }),
            "schema_version",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["delivered"], "description": "x".repeat(501) }),
            "description",
        ),
    ];
    for (body, field) in cases {
        let answer = app.post("/api/v1/endpoints", &key, body.clone()).await;
        assert_problem(&answer, 422, "invalid-field");
        assert_eq!(answer.body["field"], field, "{body}");
    }

    let broken = TestRequest::post()
        .uri("/api/v1/endpoints")
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"url\": ");
    assert_problem(&app.send(broken).await, 400, "malformed-body");

    let form = TestRequest::post()
        .uri("/api/v1/endpoints")
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("content-type", "text/plain"))
        .set_payload("url=https://x");
    assert_problem(&app.send(form).await, 415, "unsupported-media-type");

    let huge = TestRequest::post()
        .uri("/api/v1/endpoints")
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("content-type", "application/json"))
        .set_payload(format!("{{\"description\": \"{}\"}}", "x".repeat(100_000)));
    assert_problem(&app.send(huge).await, 413, "body-too-large");

    assert!(app.get("/api/v1/endpoints", &key).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    app.cleanup().await;
}

#[actix_web::test]
async fn a_test_event_reaches_the_endpoint_signed_and_shows_in_the_log() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    let (id, secret) = app
        .endpoint(&key, &receiver.url, &["out_for_delivery"])
        .await;

    let sent = app
        .post(
            &format!("/api/v1/endpoints/{id}/test"),
            &key,
            json!({ "event_type": "delivered" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(sent.body["acknowledged"], true);
    assert_eq!(sent.body["status"], 200);
    assert_eq!(sent.body["body_excerpt"], "answered 200");
    assert!(sent.body["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "x-receiver"));
    assert!(sent.body["latency_ms"].is_u64());
    assert_eq!(sent.body["payload"]["is_test"], true);
    assert_eq!(sent.body["payload"]["event_type"], "delivered");

    let (headers, body) = receiver.received.lock().unwrap()[0].clone();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let secret = SigningSecret::parse(&secret).unwrap();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    webhook::verify(
        &secret,
        &header("webhook-id"),
        timestamp,
        &body,
        &header("webhook-signature"),
        timestamp,
        300,
    )
    .expect("the test event is signed with the endpoint's secret");

    let event_id = sent.body["event_id"].as_str().unwrap();
    let log = app.get("/api/v1/events", &key).await;
    assert_eq!(log.body["items"][0]["id"], event_id);
    assert_eq!(log.body["items"][0]["is_test"], true);
    assert_eq!(log.body["items"][0]["deliveries"][0]["status"], "delivered");
    let detail = app.get(&format!("/api/v1/events/{event_id}"), &key).await;
    assert_eq!(detail.body["attempts"][0]["trigger"], "manual");
    assert_eq!(detail.body["attempts"][0]["http_status"], 200);

    receiver.answer(500);
    let failed = app
        .post(&format!("/api/v1/endpoints/{id}/test"), &key, json!({}))
        .await;
    assert_eq!(failed.body["acknowledged"], false);
    assert_eq!(failed.body["status"], 500);
    assert_eq!(failed.body["payload"]["event_type"], "out_for_delivery");
    let dead = app.get("/api/v1/events?status=dead", &key).await;
    assert_eq!(dead.body["items"][0]["id"], failed.body["event_id"]);

    let bad = app
        .post(
            &format!("/api/v1/endpoints/{id}/test"),
            &key,
            json!({ "event_type": "teleported" }),
        )
        .await;
    assert_eq!(bad.body["field"], "event_type");
    receiver.stop().await;
    app.cleanup().await;
}
