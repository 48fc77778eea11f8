//! The endpoint forms and payload versions: a new endpoint's form picks the
//! newest version, and the edit form moves an endpoint to another.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::Browser;
use crate::api::TestApp;

#[actix_web::test]
async fn the_add_form_picks_the_newest_version_and_lists_every_served_one() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    let browser = Browser::sign_in(&app, "acme").await;
    let page = browser.get(&app, "/portal/endpoints").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"<option value="v2" selected>v2 (newest)</option>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<option value="v1">v1 (deprecated, served until 2027-12-01)</option>"#),
        "{}",
        page.body
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn the_edit_form_moves_an_endpoint_to_another_version() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let created = app
        .post(
            "/api/v1/endpoints",
            &key,
            json!({ "url": "https://hooks.acme.example/", "event_types": ["delivered"], "schema_version": "v1" }),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let browser = Browser::sign_in(&app, "acme").await;
    let uri = format!("/portal/endpoints/{id}");

    let page = browser.get(&app, &uri).await;
    assert!(
        page.body.contains(r#"<option value="v1" selected>"#),
        "the edit form shows the current version: {}",
        page.body
    );
    let saved = browser
        .post(
            &app,
            &uri,
            &[
                ("url", "https://hooks.acme.example/"),
                ("event_types", "delivered"),
                ("schema_version", "v2"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let read = app
        .call(
            Method::GET,
            &format!("/api/v1/endpoints/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(read.body["schema_version"], "v2");

    let bad = browser
        .post(
            &app,
            &uri,
            &[
                ("url", "https://hooks.acme.example/"),
                ("event_types", "delivered"),
                ("schema_version", "v9"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("unknown schema version"), "{}", bad.body);
    app.cleanup().await;
}
