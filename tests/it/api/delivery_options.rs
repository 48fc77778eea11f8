//! Endpoint delivery options through the API: the signing scheme (chosen at
//! creation, HMAC by default, the ed25519 public keys shown on every read and
//! kept through a rotation) and the rate limit.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::{assert_problem, TestApp};

#[actix_web::test]
async fn an_ed25519_endpoint_shows_its_public_keys_any_time_and_never_a_secret() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let created = app
        .create_endpoint(
            &key,
            json!({ "url": "https://hooks.acme.example/", "event_types": ["delivered"], "signing_scheme": "ed25519" }),
        )
        .await;
    assert_eq!(created["signing_scheme"], "ed25519");
    assert!(created.get("secret").is_none(), "{}", created);
    let first = created["public_keys"][0].as_str().unwrap().to_owned();
    assert!(first.starts_with("whpk_"), "{first}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/endpoints/{id}");
    assert_eq!(
        app.get(&path, &key).await.body["public_keys"],
        json!([first])
    );

    let rotated = app
        .call(
            Method::POST,
            &format!("{path}/rotate-secret?grace_period_secs=3600"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert!(rotated.body.get("secret").is_none());
    let second = rotated.body["public_key"].as_str().unwrap().to_owned();
    assert!(second.starts_with("whpk_") && second != first);
    let read = app.get(&path, &key).await;
    assert_eq!(read.body["public_keys"], json!([second, first]));
    assert_eq!(read.body["active_secrets"], 2);
    app.cleanup().await;
}

#[actix_web::test]
async fn hmac_stays_the_default_and_an_unknown_scheme_is_refused() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let created = app
        .post(
            "/api/v1/endpoints",
            &key,
            json!({ "url": "https://hooks.acme.example/", "event_types": ["delivered"] }),
        )
        .await;
    assert_eq!(created.body["signing_scheme"], "hmac");
    assert!(created.body["secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    assert_eq!(created.body["public_keys"], json!([]));

    let bad = app
        .post(
            "/api/v1/endpoints",
            &key,
            json!({ "url": "https://hooks.acme.example/", "event_types": ["delivered"], "signing_scheme": "rsa" }),
        )
        .await;
    assert_problem(&bad, 422, "invalid-field");
    assert_eq!(bad.body["field"], "signing_scheme");
    let listed = app.get("/api/v1/endpoints", &key).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "nothing created"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_rate_limit_is_set_at_creation_changed_and_removed_and_bad_values_are_named() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let created = app
        .create_endpoint(
            &key,
            json!({ "url": "https://hooks.acme.example/", "event_types": ["delivered"], "rate_limit": { "per_second": 20 } }),
        )
        .await;
    assert_eq!(
        created["rate_limit"],
        json!({ "per_second": 20, "burst": 20 }),
        "the burst defaults to the rate"
    );
    let path = format!("/api/v1/endpoints/{}", created["id"].as_str().unwrap());
    let patch = |body| app.call(Method::PATCH, &path, Some(&key), Some(body));

    let changed = patch(json!({ "rate_limit": { "per_second": 5, "burst": 50 } })).await;
    assert_eq!(
        changed.body["rate_limit"],
        json!({ "per_second": 5, "burst": 50 })
    );
    let untouched = patch(json!({ "description": "CRM" })).await;
    assert_eq!(
        untouched.body["rate_limit"],
        json!({ "per_second": 5, "burst": 50 })
    );
    for (body, field) in [
        (
            json!({ "rate_limit": { "per_second": 0 } }),
            "rate_limit.per_second",
        ),
        (
            json!({ "rate_limit": { "per_second": 10001 } }),
            "rate_limit.per_second",
        ),
        (
            json!({ "rate_limit": { "per_second": 5, "burst": -1 } }),
            "rate_limit.burst",
        ),
    ] {
        let bad = patch(body.clone()).await;
        assert_problem(&bad, 422, "invalid-field");
        assert_eq!(bad.body["field"], field, "{body}");
    }
    let removed = patch(json!({ "rate_limit": null })).await;
    assert!(removed.body["rate_limit"].is_null(), "{}", removed.body);
    app.cleanup().await;
}
