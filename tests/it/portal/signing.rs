//! The signing scheme in the portal: chosen on the add form, the public key
//! on the endpoint's page at any time and after a rotation.

use actix_web::http::StatusCode;

use super::Browser;
use crate::api::TestApp;

#[actix_web::test]
async fn an_ed25519_endpoint_added_in_the_portal_shows_its_public_key() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let browser = Browser::sign_in(&app, "acme").await;
    let form = browser.get(&app, "/portal/endpoints").await;
    assert!(
        form.body.contains(r#"<option value="hmac" selected>"#),
        "HMAC is preselected: {}",
        form.body
    );
    let added = browser
        .post(
            &app,
            "/portal/endpoints",
            &[
                ("url", "https://hooks.acme.example/"),
                ("event_types", "delivered"),
                ("schema_version", "v2"),
                ("signing_scheme", "ed25519"),
            ],
        )
        .await;
    assert!(added.status.is_success() || added.status == StatusCode::SEE_OTHER);
    assert!(!added.body.contains("whsk_"), "the signing key never shows");
    let listed = app.get("/api/v1/endpoints", &key).await;
    let endpoint = &listed.body["items"][0];
    assert_eq!(endpoint["signing_scheme"], "ed25519");
    let public = endpoint["public_keys"][0].as_str().unwrap().to_owned();
    let id = endpoint["id"].as_str().unwrap();

    let uri = format!("/portal/endpoints/{id}");
    let page = browser.get(&app, &uri).await;
    assert!(page.body.contains("ed25519 (v1a)"), "{}", page.body);
    assert!(page.body.contains(&public), "the public key, any time");
    assert!(
        !page.body.contains(r#"id="signing_scheme""#),
        "fixed after creation"
    );

    let rotated = browser
        .post(
            &app,
            &format!("{uri}/rotate-secret"),
            &[("grace_period_secs", "3600")],
        )
        .await;
    assert!(rotated.body.contains("Public key"), "{}", rotated.body);
    let page = browser.get(&app, &uri).await;
    assert!(page.body.contains("either public key"), "{}", page.body);
    assert!(
        page.body.contains(&public),
        "the old key, during the grace period"
    );
    app.cleanup().await;
}
