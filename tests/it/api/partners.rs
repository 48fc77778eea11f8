//! Operator routes and authentication.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use super::{assert_problem, TestApp, OPERATOR};

#[actix_web::test]
async fn operators_create_list_suspend_and_reactivate_partners() {
    let app = TestApp::spawn().await;

    let created = app
        .post(
            "/api/v1/partners",
            OPERATOR,
            json!({ "id": "acme", "name": "Acme" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["status"], "active");

    let again = app
        .post(
            "/api/v1/partners",
            OPERATOR,
            json!({ "id": "acme", "name": "Acme" }),
        )
        .await;
    assert_problem(&again, 409, "conflict");

    let listed = app.get("/api/v1/partners", OPERATOR).await;
    assert_eq!(listed.body["items"][0]["id"], "acme");
    assert_eq!(
        app.get("/api/v1/partners/acme", OPERATOR).await.body["name"],
        "Acme"
    );
    assert_problem(
        &app.get("/api/v1/partners/nobody", OPERATOR).await,
        404,
        "not-found",
    );

    let suspended = app
        .call(
            Method::POST,
            "/api/v1/partners/acme/suspend",
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(suspended.body["status"], "suspended");
    let activated = app
        .call(
            Method::POST,
            "/api/v1/partners/acme/activate",
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(activated.body["status"], "active");
    assert_problem(
        &app.call(
            Method::POST,
            "/api/v1/partners/nobody/suspend",
            Some(OPERATOR),
            None,
        )
        .await,
        404,
        "not-found",
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_bad_partner_id_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/api/v1/partners",
            OPERATOR,
            json!({ "id": "-bad id", "name": "x" }),
        )
        .await;
    assert_problem(&answer, 422, "invalid-field");
    assert_eq!(answer.body["field"], "id");
    let answer = app
        .post(
            "/api/v1/partners",
            OPERATOR,
            json!({ "id": "ok", "name": "" }),
        )
        .await;
    assert_eq!(answer.body["field"], "name");
    let answer = app
        .post("/api/v1/partners", OPERATOR, json!({ "id": "ok" }))
        .await;
    assert_eq!(answer.body["field"], "name");
    app.cleanup().await;
}

#[actix_web::test]
async fn keys_are_shown_once_stored_hashed_and_stop_working_when_revoked() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    assert!(key.starts_with("tw_live_"));
    assert_eq!(
        app.get("/api/v1/endpoints", &key).await.status,
        StatusCode::OK
    );

    let keys = app.get("/api/v1/partners/acme/keys", OPERATOR).await;
    let listed = &keys.body["items"][0];
    assert!(listed.get("key").is_none());
    assert!(key.starts_with(listed["prefix"].as_str().unwrap()));
    let client = app.state.pool.get().await.unwrap();
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM api_keys WHERE key_hash = sha256($1::text::bytea)",
            &[&key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    let plain: i64 = client
        .query_one("SELECT count(*) FROM api_keys WHERE prefix = $1", &[&key])
        .await
        .unwrap()
        .get(0);
    assert_eq!(plain, 0);

    let id = listed["id"].as_str().unwrap();
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/api/v1/partners/acme/keys/{id}"),
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_problem(
        &app.get("/api/v1/endpoints", &key).await,
        401,
        "unauthenticated",
    );
    assert_problem(
        &app.call(
            Method::DELETE,
            "/api/v1/partners/acme/keys/key_nope",
            Some(OPERATOR),
            None,
        )
        .await,
        404,
        "not-found",
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_suspended_partner_key_is_refused() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.call(
        Method::POST,
        "/api/v1/partners/acme/suspend",
        Some(OPERATOR),
        None,
    )
    .await;
    assert_problem(&app.get("/api/v1/endpoints", &key).await, 403, "forbidden");
    app.cleanup().await;
}

#[actix_web::test]
async fn credentials_are_checked_and_kept_to_their_kind_of_route() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;

    let none = app.call(Method::GET, "/api/v1/partners", None, None).await;
    assert_problem(&none, 401, "unauthenticated");
    assert_problem(
        &app.get("/api/v1/partners", "wrong-token").await,
        401,
        "unauthenticated",
    );
    assert_problem(
        &app.get("/api/v1/endpoints", "tw_live_forged").await,
        401,
        "unauthenticated",
    );
    assert_problem(&app.get("/api/v1/partners", &key).await, 403, "forbidden");
    assert_problem(
        &app.get("/api/v1/admin/endpoints", &key).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.get("/api/v1/endpoints", OPERATOR).await,
        403,
        "forbidden",
    );

    let basic = TestRequest::get()
        .uri("/api/v1/partners")
        .insert_header(("authorization", format!("Basic {OPERATOR}")));
    assert_problem(&app.send(basic).await, 401, "unauthenticated");
    app.cleanup().await;
}

#[actix_web::test]
async fn the_openapi_spec_is_served_and_unknown_routes_are_problems() {
    let app = TestApp::spawn().await;
    let spec = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/partners",
        "/endpoints/{id}",
        "/events",
        "/deliveries/{id}/retry",
    ] {
        assert!(
            spec.body["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    assert_problem(
        &app.get("/api/v1/nothing-here", OPERATOR).await,
        404,
        "no-route",
    );
    app.cleanup().await;
}
