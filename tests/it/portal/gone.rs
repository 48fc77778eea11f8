//! An endpoint trackwire disabled after a `410 Gone`: the API and the portal
//! say why and since when, and the partner enables it again from either.

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use trackwire::actors::endpoint::GONE_REASON;
use trackwire::store::endpoints;

use super::Browser;
use crate::api::TestApp;

async fn disable_as_gone(app: &TestApp, id: &str) {
    let client = app.state.pool.get().await.unwrap();
    let disabled = endpoints::disable_for_answer(&**client, id, GONE_REASON)
        .await
        .unwrap();
    assert!(disabled);
    let again = endpoints::disable_for_answer(&**client, id, GONE_REASON)
        .await
        .unwrap();
    assert!(!again, "an endpoint already disabled is not disabled twice");
}

async fn enabling_transitions(app: &TestApp, id: &str) -> Vec<(String, String, String)> {
    let client = app.state.pool.get().await.unwrap();
    client
        .query(
            "SELECT from_state, to_state, reason FROM endpoint_transitions
             WHERE endpoint_id = $1 AND kind = 'enabled' ORDER BY id",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[actix_web::test]
async fn the_api_shows_why_an_endpoint_was_disabled_and_patch_enables_it_again() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (id, _) = app
        .endpoint(&key, "https://hooks.acme.example/", &["delivered"])
        .await;
    disable_as_gone(&app, &id).await;
    let path = format!("/api/v1/endpoints/{id}");

    let read = app.get(&path, &key).await;
    assert_eq!(read.body["enabled"], false);
    assert_eq!(read.body["disabled_reason"], GONE_REASON);
    assert!(read.body["disabled_at"].is_string(), "{}", read.body);

    let patched = app
        .call(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["enabled"], true);
    assert!(patched.body["disabled_reason"].is_null());
    assert!(patched.body["disabled_at"].is_null());
    // A PATCH that leaves `enabled` alone records nothing.
    app.call(
        Method::PATCH,
        &path,
        Some(&key),
        Some(json!({ "description": "CRM" })),
    )
    .await;
    assert_eq!(
        enabling_transitions(&app, &id).await,
        vec![
            ("enabled".into(), "disabled".into(), GONE_REASON.into()),
            (
                "disabled".into(),
                "enabled".into(),
                "enabled by the partner".into()
            ),
        ]
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn the_portal_shows_a_gone_endpoint_and_its_form_enables_it_again() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (id, _) = app
        .endpoint(&key, "https://hooks.acme.example/", &["delivered"])
        .await;
    disable_as_gone(&app, &id).await;
    let browser = Browser::sign_in(&app, "acme").await;

    let list = browser.get(&app, "/portal/endpoints").await;
    assert!(list.body.contains("disabled: gone"), "{}", list.body);
    let uri = format!("/portal/endpoints/{id}");
    let page = browser.get(&app, &uri).await;
    assert!(
        page.body.contains("the endpoint answered 410 Gone"),
        "the page says why: {}",
        page.body
    );
    assert!(page.body.contains("tick Enabled below and save"));

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
    let page = browser.get(&app, &uri).await;
    assert!(!page.body.contains("410 Gone"), "{}", page.body);
    assert!(!page.body.contains("disabled: gone"));
    let read = app.get(&format!("/api/v1/endpoints/{id}"), &key).await;
    assert_eq!(read.body["enabled"], true);
    assert_eq!(enabling_transitions(&app, &id).await.len(), 2);
    app.cleanup().await;
}
