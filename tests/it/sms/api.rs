//! The templates API: defaults, the DLT check as a 422 naming the field,
//! previews with part counts, and one partner's templates only.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::api::{TestApp, OPERATOR};

fn body(text: &str, dlt_text: &str) -> serde_json::Value {
    json!({
        "enabled": true, "text": text, "dlt_text": dlt_text,
        "dlt_template_id": "1107161234567890123", "sender_header": "SHOPIN", "entity_id": "1101234567890",
    })
}

#[actix_rt::test]
async fn templates_list_defaults_refuse_dlt_mismatches_and_preview_parts() {
    let app = TestApp::spawn().await;
    let key = app.partner("tpl_a").await;
    let other = app.partner("tpl_b").await;

    let listed = app.get("/api/v1/sms/templates", &key).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let data = listed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 6);
    for t in data {
        assert_eq!(t["saved"], false);
        assert_eq!(
            t["enabled"], false,
            "nothing is sent before DLT ids are saved"
        );
        assert!(t["parts"].as_u64().unwrap() <= 2, "{t}");
    }
    assert!(data[1]["text"].as_str().unwrap().contains("{otp}"));

    let put = |key: String, path: &'static str, b: serde_json::Value| {
        let app = &app;
        async move { app.call(Method::PUT, path, Some(&key), Some(b)).await }
    };
    let mismatch = put(
        key.clone(),
        "/api/v1/sms/templates/delivered",
        body(
            "Order {order_ref} delivered.",
            "Order {#var#} was delivered.",
        ),
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatch.body["field"], "dlt_text", "{}", mismatch.body);

    let otp = put(
        key.clone(),
        "/api/v1/sms/templates/delivered",
        body("OTP {otp}", "OTP {#var#}"),
    )
    .await;
    assert_eq!(otp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(otp.body["field"], "text", "{}", otp.body);

    let bad_type = put(key.clone(), "/api/v1/sms/templates/shipped", body("x", "x")).await;
    assert_eq!(bad_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_type.body["field"], "event_type");

    let hindi = "{merchant}: आपका ऑर्डर {order_ref} पहुँच गया";
    let saved = put(
        key.clone(),
        "/api/v1/sms/templates/delivered",
        body(hindi, "{#var#}: आपका ऑर्डर {#var#} पहुँच गया"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["encoding"], "UCS-2");
    assert_eq!(
        saved.body["preview"],
        "Sharma Stores: आपका ऑर्डर SHOP-104233 पहुँच गया"
    );
    assert_eq!(saved.body["parts"], 1);

    // The other partner still has only defaults, and an operator sees each.
    let theirs = app.get("/api/v1/sms/templates", &other).await;
    assert!(theirs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["saved"] == false));
    let as_operator = app
        .get("/api/v1/partners/tpl_a/sms/templates", OPERATOR)
        .await;
    assert_eq!(as_operator.body["data"][2]["saved"], true);
    assert_eq!(as_operator.body["data"][2]["text"], hindi);
    let missing = app
        .get("/api/v1/partners/nobody/sms/templates", OPERATOR)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
