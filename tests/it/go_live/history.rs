//! Deleting an endpoint keeps its delivery history: the event log still
//! lists its deliveries and attempts, the endpoint marked as deleted, and a
//! delivery that was still waiting is closed rather than left pending for an
//! endpoint that is gone.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::api::{Receiver, TestApp};

#[actix_web::test]
async fn a_deleted_endpoint_keeps_its_deliveries_and_attempts_in_the_log() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    let (id, _) = app.endpoint(&key, &receiver.url, &["delivered"]).await;
    let sent = app
        .post(
            &format!("/api/v1/endpoints/{id}/test"),
            &key,
            json!({ "event_type": "delivered" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let tested = sent.body["event_id"].as_str().unwrap().to_owned();
    // Stored with no actor running, so its delivery is still pending.
    let waiting = app.event("acme", "delivered").await;

    let deleted = app
        .call(
            Method::DELETE,
            &format!("/api/v1/endpoints/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);

    let log = app.get(&format!("/api/v1/events/{tested}"), &key).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let deliveries = log.body["event"]["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{}", log.body);
    assert_eq!(deliveries[0]["endpoint_id"], id.as_str());
    assert_eq!(deliveries[0]["endpoint_deleted"], true, "{}", log.body);
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(log.body["attempts"].as_array().unwrap().len(), 1);

    let log = app.get(&format!("/api/v1/events/{waiting}"), &key).await;
    let delivery = &log.body["event"]["deliveries"][0];
    assert_eq!(delivery["status"], "dead", "{}", log.body);
    assert_eq!(delivery["last_error"], "endpoint deleted");
    let retried = app
        .post(
            &format!("/api/v1/deliveries/{}/retry", delivery["id"]),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(retried.status, StatusCode::NOT_FOUND, "{}", retried.body);

    let listed = app.get("/api/v1/events", &key).await;
    let events = listed.body["items"].as_array().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["deliveries"][0]["endpoint_deleted"] == true),
        "{}",
        listed.body
    );
    receiver.stop().await;
    app.cleanup().await;
}
