//! A test event is shaped like a live event: the OMS statuses the default
//! `[cdc.status_map]` maps to its type, in the endpoint's version.

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::api::{Receiver, TestApp};

/// Registers an endpoint of `version` and sends it a `delivered` test event;
/// returns the answer's payload and the body the receiver got.
async fn test_event_in(app: &TestApp, key: &str, version: &str) -> (Value, Value) {
    let receiver = Receiver::start();
    let created = app
        .create_endpoint(
            key,
            json!({ "url": receiver.url, "event_types": ["delivered"], "schema_version": version }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let sent = app
        .post(
            &format!("/api/v1/endpoints/{id}/test"),
            key,
            json!({ "event_type": "delivered" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let (_, body) = receiver.received.lock().unwrap()[0].clone();
    receiver.stop().await;
    (
        sent.body["payload"].clone(),
        serde_json::from_slice(&body).unwrap(),
    )
}

#[actix_web::test]
async fn a_test_event_carries_the_statuses_live_events_carry() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;

    let (answered, received) = test_event_in(&app, &key, "v1").await;
    assert_eq!(answered, received);
    assert_eq!(received["schema_version"], "v1");
    assert_eq!(received["status"], "DELIVERED", "{received}");
    assert_eq!(received["previous_status"], "OUT_FOR_DELIVERY");

    let (answered, received) = test_event_in(&app, &key, "v2").await;
    assert_eq!(answered, received);
    assert_eq!(received["schema_version"], "v2");
    assert_eq!(received["order"]["status"], "DELIVERED", "{received}");
    assert_eq!(received["order"]["previous_status"], "OUT_FOR_DELIVERY");
    app.cleanup().await;
}
