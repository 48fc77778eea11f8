//! The toggle over the admin API, in partner and operator scope, and on the
//! portal's own page.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::{set_tracking, token_of};
use crate::api::{assert_problem, TestApp, OPERATOR};
use crate::portal::Browser;

#[actix_web::test]
async fn partners_and_operators_read_and_set_the_toggle_with_clear_errors() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.partner("zeta").await;

    let own = app.get("/api/v1/tracking", &key).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body, json!({ "partner_id": "acme", "enabled": false }));
    let on = app
        .call(
            Method::PUT,
            "/api/v1/tracking",
            Some(&key),
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(on.body["enabled"], true, "{}", on.body);
    let seen = app.get("/api/v1/partners/acme/tracking", OPERATOR).await;
    assert_eq!(seen.body["enabled"], true);
    // The partner's call changed its own setting only.
    let other = app.get("/api/v1/partners/zeta/tracking", OPERATOR).await;
    assert_eq!(other.body["enabled"], false);

    set_tracking(&app, "acme", false).await;
    assert_eq!(
        app.get("/api/v1/tracking", &key).await.body["enabled"],
        false
    );

    let bad = app
        .call(
            Method::PUT,
            "/api/v1/tracking",
            Some(&key),
            Some(json!({ "enabled": "yes" })),
        )
        .await;
    assert_problem(&bad, 422, "invalid-field");
    assert!(bad.body.to_string().contains("enabled"), "{}", bad.body);
    let unknown = app
        .call(
            Method::PUT,
            "/api/v1/partners/acme/tracking",
            Some(OPERATOR),
            Some(json!({ "enabled": true, "sms": true })),
        )
        .await;
    assert_problem(&unknown, 422, "invalid-field");
    assert_problem(
        &app.call(
            Method::PUT,
            "/api/v1/partners/nobody/tracking",
            Some(OPERATOR),
            Some(json!({ "enabled": true })),
        )
        .await,
        404,
        "not-found",
    );
    assert_problem(
        &app.get("/api/v1/partners/zeta/tracking", &key).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.get("/api/v1/tracking", "nope").await,
        401,
        "unauthenticated",
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn the_portal_page_explains_the_toggle_and_turns_it_on_and_off() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let browser = Browser::sign_in(&app, "acme").await;

    let page = browser.get(&app, "/portal/tracking").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("no endpoint, no API key, no code"),
        "{}",
        page.body
    );
    assert!(page.body.contains("never shows the delivery code (OTP)"));
    assert!(page.body.contains("Turn built-in tracking on"));

    let turned = browser
        .post(&app, "/portal/tracking", &[("enabled", "on")])
        .await;
    assert_eq!(turned.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/tracking", &key).await.body["enabled"],
        true
    );
    let page = browser.get(&app, "/portal/tracking?turned=on").await;
    assert!(
        page.body.contains("Built-in tracking is on"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Turn built-in tracking off"));

    // Without the session's CSRF token nothing changes.
    let forged = browser
        .post_raw(&app, "/portal/tracking", &[("enabled", "off")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/tracking", &key).await.body["enabled"],
        true
    );
    let bad = browser
        .post(&app, "/portal/tracking", &[("enabled", "maybe")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    browser
        .post(&app, "/portal/tracking", &[("enabled", "off")])
        .await;
    assert_eq!(
        app.get("/api/v1/tracking", &key).await.body["enabled"],
        false
    );
    assert_eq!(token_of(&app, "acme", "none").await, None);
    app.cleanup().await;
}
