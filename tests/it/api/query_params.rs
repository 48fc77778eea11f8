//! Query parameters follow one rule on every route: a parameter the route
//! does not take, a repeated one, or a bad value is a 422 naming it.

use actix_web::http::{Method, StatusCode};

use super::{assert_problem, TestApp};

#[actix_web::test]
async fn query_parameter_errors_are_422s_naming_the_parameter_on_every_route() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let (id, _) = app
        .endpoint(&key, "https://crm.example.com/", &["delivered"])
        .await;
    let rotate = format!("/api/v1/endpoints/{id}/rotate-secret");
    let cases = [
        (
            Method::POST,
            format!("{rotate}?grace_period_secs=-1"),
            "grace_period_secs",
        ),
        (
            Method::POST,
            format!("{rotate}?grace_period_secs=abc"),
            "grace_period_secs",
        ),
        (
            Method::POST,
            format!("{rotate}?grace_period_secs=1&grace_period_secs=2"),
            "grace_period_secs",
        ),
        (Method::POST, format!("{rotate}?colour=red"), "colour"),
        (Method::GET, "/api/v1/events?limit=0".to_owned(), "limit"),
        (Method::GET, "/api/v1/events?limit=201".to_owned(), "limit"),
        (
            Method::GET,
            "/api/v1/events?limit=5&limit=6".to_owned(),
            "limit",
        ),
        (
            Method::GET,
            "/api/v1/events?colour=red".to_owned(),
            "colour",
        ),
        (
            Method::GET,
            "/api/v1/endpoints?colour=red".to_owned(),
            "colour",
        ),
        (
            Method::GET,
            format!("/api/v1/endpoints/{id}?colour=red"),
            "colour",
        ),
    ];
    for (method, uri, field) in cases {
        let answer = app.call(method, &uri, Some(&key), None).await;
        assert_problem(&answer, 422, "invalid-field");
        assert_eq!(answer.body["field"], field, "{uri}");
        assert!(
            !answer.body["detail"].as_str().unwrap().contains("u64"),
            "no type names: {}",
            answer.body
        );
    }
    let nowhere = app.get("/api/v1/nosuch?colour=red", &key).await;
    assert_problem(&nowhere, 404, "no-route");
    let limit = app.get("/api/v1/events?limit=0", &key).await;
    assert!(
        limit.body["detail"].as_str().unwrap().contains("1 to 200"),
        "{}",
        limit.body
    );
    for uri in [
        "/api/v1/events?limit=1",
        "/api/v1/events?limit=200&offset=0",
    ] {
        assert_eq!(app.get(uri, &key).await.status, StatusCode::OK, "{uri}");
    }
    let rotated = app
        .call(
            Method::POST,
            &format!("{rotate}?grace_period_secs=0"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_nul_in_a_path_or_a_query_is_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    for uri in ["/api/v1/events/evt%00x", "/api/v1/endpoints/ep%00x"] {
        assert_problem(&app.get(uri, &key).await, 404, "not-found");
    }
    let query = app.get("/api/v1/events?event_type=%00", &key).await;
    assert_problem(&query, 422, "invalid-field");
    assert_eq!(query.body["field"], "event_type");
    app.cleanup().await;
}
