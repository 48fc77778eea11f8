//! The event log shows each delivery the payload its endpoint received, in
//! that endpoint's version, with the OTP hidden, in the API and the portal.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::api::{Receiver, TestApp};
use crate::portal::Browser;

const HIDDEN: &str = "•••• (hidden)";

async fn endpoint_of(app: &TestApp, key: &str, receiver: &Receiver, version: &str) -> String {
    let created = app
        .create_endpoint(
            key,
            json!({ "url": receiver.url, "event_types": ["out_for_delivery"], "schema_version": version }),
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// The body `receiver` got, with its OTP (at `otp`) replaced as the log does.
fn received_with_otp_hidden(receiver: &Receiver, otp: &[&str]) -> Value {
    let (_, body) = receiver.received.lock().unwrap()[0].clone();
    let mut body: Value = serde_json::from_slice(&body).unwrap();
    let mut at = &mut body;
    for key in otp {
        at = &mut at[*key];
    }
    assert!(at.is_string(), "the OTP was sent");
    *at = Value::String(HIDDEN.into());
    body
}

#[actix_web::test]
async fn each_delivery_shows_the_payload_of_its_endpoints_version() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (old, new) = (Receiver::start(), Receiver::start());
    let v1 = endpoint_of(&app, &key, &old, "v1").await;
    let v2 = endpoint_of(&app, &key, &new, "v2").await;
    let event = app.event("acme", "out_for_delivery").await;
    app.reload_router().await;
    for _ in 0..100 {
        if old.count() > 0 && new.count() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let log = app.get(&format!("/api/v1/events/{event}"), &key).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let deliveries = log.body["event"]["deliveries"].as_array().unwrap();
    let shown = |endpoint: &str| {
        deliveries
            .iter()
            .find(|d| d["endpoint_id"] == endpoint)
            .unwrap_or_else(|| panic!("no delivery to {endpoint}: {}", log.body))
            .clone()
    };
    assert_eq!(shown(&v1)["schema_version"], "v1");
    assert_eq!(
        shown(&v1)["payload"],
        received_with_otp_hidden(&old, &["delivery_otp"])
    );
    assert_eq!(shown(&v2)["schema_version"], "v2");
    assert_eq!(
        shown(&v2)["payload"],
        received_with_otp_hidden(&new, &["delivery", "otp"])
    );
    let (_, sent) = new.received.lock().unwrap()[0].clone();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    let otp = sent["delivery"]["otp"].as_str().unwrap();
    assert!(!log.body.to_string().contains(&format!("\"{otp}\"")));

    let browser = Browser::sign_in(&app, "acme").await;
    let page = browser.get(&app, &format!("/portal/events/{event}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("(schema v2;"), "{}", page.body);
    assert!(page.body.contains("(schema v1;"), "{}", page.body);
    assert!(
        page.body
            .contains("&quot;otp&quot;: &quot;•••• (hidden)&quot;"),
        "{}",
        page.body
    );
    old.stop().await;
    new.stop().await;
    app.cleanup().await;
}
