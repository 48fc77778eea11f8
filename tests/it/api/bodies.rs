//! Bodies are JSON objects, and no text in them holds a NUL.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use super::{assert_problem, TestApp, OPERATOR};

/// A POST of `body` as raw JSON text.
fn raw_post(uri: &str, token: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn a_body_that_is_not_a_json_object_is_refused() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    for body in [r#"["arr", "From an array"]"#, "\"acme\"", "42", "null"] {
        let answer = app.send(raw_post("/api/v1/partners", OPERATOR, body)).await;
        assert_problem(&answer, 400, "malformed-body");
        assert!(
            answer.body["detail"]
                .as_str()
                .unwrap()
                .contains("JSON object"),
            "{}",
            answer.body
        );
    }
    let array = r#"["https://crm.example.com/", "", ["delivered"]]"#;
    let answer = app.send(raw_post("/api/v1/endpoints", &key, array)).await;
    assert_problem(&answer, 400, "malformed-body");
    let partners = app.get("/api/v1/partners", OPERATOR).await;
    assert_eq!(
        partners.body["items"].as_array().unwrap().len(),
        1,
        "only acme"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_nul_character_in_any_text_field_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let named = app
        .post(
            "/api/v1/partners",
            OPERATOR,
            json!({ "id": "nul", "name": "Bad\u{0}name" }),
        )
        .await;
    assert_problem(&named, 422, "invalid-field");
    assert_eq!(named.body["field"], "name");

    let (id, _) = app
        .endpoint(&key, "https://crm.example.com/", &["delivered"])
        .await;
    let cases = [
        (
            Method::POST,
            "/api/v1/endpoints".to_owned(),
            json!({ "url": "https://crm.example.com/", "event_types": ["delivered"], "description": "a\u{0}b" }),
            "description",
        ),
        (
            Method::POST,
            "/api/v1/endpoints".to_owned(),
            json!({ "url": "https://crm.example.com/\u{0}", "event_types": ["delivered"] }),
            "url",
        ),
        (
            Method::POST,
            "/api/v1/endpoints".to_owned(),
            json!({ "url": "https://crm.example.com/", "event_types": ["delivered", "x\u{0}"] }),
            "event_types[1]",
        ),
        (
            Method::PATCH,
            format!("/api/v1/endpoints/{id}"),
            json!({ "description": "\u{0}" }),
            "description",
        ),
        (
            Method::POST,
            "/api/v1/deliveries/retry".to_owned(),
            json!({ "endpoint_id": "ep_\u{0}" }),
            "endpoint_id",
        ),
    ];
    for (method, uri, body, field) in cases {
        let answer = app.call(method, &uri, Some(&key), Some(body.clone())).await;
        assert_problem(&answer, 422, "invalid-field");
        assert_eq!(answer.body["field"], field, "{body}");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn the_portal_form_refuses_a_nul_in_the_description() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    let browser = crate::portal::Browser::sign_in(&app, "acme").await;
    let page = browser
        .post(
            &app,
            "/portal/endpoints",
            &[
                ("url", "https://crm.example.com/"),
                ("description", "a\u{0}b"),
                ("event_types", "delivered"),
                ("schema_version", "v2"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("description"), "{}", page.body);
    app.cleanup().await;
}
