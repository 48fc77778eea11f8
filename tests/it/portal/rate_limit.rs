//! The rate limit on the portal's edit form: set, shown, checked, removed.

use actix_web::http::StatusCode;

use super::Browser;
use crate::api::TestApp;

#[actix_web::test]
async fn the_edit_form_sets_checks_and_removes_a_rate_limit() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (id, _) = app
        .endpoint(&key, "https://hooks.acme.example/", &["delivered"])
        .await;
    let browser = Browser::sign_in(&app, "acme").await;
    let uri = format!("/portal/endpoints/{id}");
    let save = |rate: &'static str, burst: &'static str| {
        let browser = &browser;
        let app = &app;
        let uri = uri.clone();
        async move {
            browser
                .post(
                    app,
                    &uri,
                    &[
                        ("url", "https://hooks.acme.example/"),
                        ("event_types", "delivered"),
                        ("schema_version", "v2"),
                        ("enabled", "1"),
                        ("rate_limit_per_second", rate),
                        ("rate_limit_burst", burst),
                    ],
                )
                .await
        }
    };
    assert_eq!(save("25", "5").await.status, StatusCode::SEE_OTHER);
    let read = app.get(&format!("/api/v1/endpoints/{id}"), &key).await;
    assert_eq!(read.body["rate_limit"]["per_second"], 25);
    assert_eq!(read.body["rate_limit"]["burst"], 5);
    let page = browser.get(&app, &uri).await;
    assert!(
        page.body
            .contains(r#"name="rate_limit_per_second" min="1" max="10000" value="25""#),
        "{}",
        page.body
    );

    let bad = save("fast", "").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("not a whole number"), "{}", bad.body);
    assert!(
        bad.body.contains(r#"value="fast""#),
        "what was typed is kept"
    );

    assert_eq!(save("", "").await.status, StatusCode::SEE_OTHER);
    let read = app.get(&format!("/api/v1/endpoints/{id}"), &key).await;
    assert!(read.body["rate_limit"].is_null());
    app.cleanup().await;
}
