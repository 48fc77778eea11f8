//! Endpoint health (partners and operators) and portal sign-in links.

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use trackwire::store::health::{self, Snapshot};

use super::{assert_problem, Receiver, TestApp, OPERATOR};

#[actix_web::test]
async fn a_partner_reads_its_endpoint_health_and_the_last_24_hours() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let other = app.partner("other").await;
    let receiver = Receiver::start();
    let (id, _) = app.endpoint(&key, &receiver.url, &["delivered"]).await;
    let path = format!("/api/v1/endpoints/{id}/health");

    let fresh = app.get(&path, &key).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_eq!(fresh.body["endpoint_id"], id.as_str());
    assert_eq!(fresh.body["health"]["breaker_state"], "closed");
    assert_eq!(fresh.body["health"]["ack_rate"], json!(null));
    assert_eq!(fresh.body["health"]["at_risk"], false);
    assert_eq!(fresh.body["last_24h"], json!([]));

    // Two test events, one acknowledged and one rejected, are two attempts.
    app.post(&format!("/api/v1/endpoints/{id}/test"), &key, json!({}))
        .await;
    receiver.answer(503);
    app.post(&format!("/api/v1/endpoints/{id}/test"), &key, json!({}))
        .await;
    let client = app.state.pool.get().await.unwrap();
    health::upsert(
        &**client,
        &id,
        &Snapshot {
            breaker_state: "open",
            ack_rate: Some(0.5),
            window_attempts: 2,
            window_acked: 1,
            at_risk_reason: Some("breaker open for 5m".into()),
            last_success_at: Some(chrono::Utc::now()),
            last_failure_at: Some(chrono::Utc::now()),
        },
    )
    .await
    .unwrap();

    let now = app.get(&path, &key).await;
    let h = &now.body["health"];
    assert_eq!(h["breaker_state"], "open");
    assert_eq!(h["ack_rate"], 0.5);
    assert_eq!(h["at_risk"], true);
    assert_eq!(h["at_risk_reason"], "breaker open for 5m");
    assert!(h["at_risk_since"].is_string() && h["last_success_at"].is_string());
    let hours = now.body["last_24h"].as_array().unwrap();
    assert_eq!(hours.len(), 1, "{}", now.body);
    assert_eq!(hours[0]["acked"], 1);
    assert_eq!(hours[0]["rejected"], 1);
    assert_eq!(hours[0]["unanswered"], 0);

    assert_problem(&app.get(&path, &other).await, 404, "not-found");
    assert_problem(
        &app.get("/api/v1/endpoints/ep_nope/health", &key).await,
        404,
        "not-found",
    );
    assert_problem(&app.get(&path, OPERATOR).await, 403, "forbidden");
    receiver.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn operators_see_every_endpoint_with_its_ack_rate_and_at_risk_flag() {
    let app = TestApp::spawn().await;
    let a = app.partner("alpha").await;
    let b = app.partner("bravo").await;
    let (risky, _) = app
        .endpoint(&a, "https://hooks.alpha.example/", &["delivered"])
        .await;
    let (quiet, _) = app
        .endpoint(&b, "https://hooks.bravo.example/", &["delivered"])
        .await;
    let client = app.state.pool.get().await.unwrap();
    health::upsert(
        &**client,
        &risky,
        &Snapshot {
            breaker_state: "closed",
            ack_rate: Some(0.4),
            window_attempts: 25,
            window_acked: 10,
            at_risk_reason: Some("ACK rate 40% over 25 attempts".into()),
            last_success_at: None,
            last_failure_at: Some(chrono::Utc::now()),
        },
    )
    .await
    .unwrap();

    let all = app.get("/api/v1/admin/endpoints", OPERATOR).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let find = |id: &str| items.iter().find(|e| e["id"] == id).unwrap().clone();
    let r = find(&risky);
    assert_eq!(r["partner_id"], "alpha");
    assert_eq!(r["health"]["ack_rate"], 0.4);
    assert_eq!(r["health"]["at_risk"], true);
    assert_eq!(
        r["health"]["at_risk_reason"],
        "ACK rate 40% over 25 attempts"
    );
    let q = find(&quiet);
    assert_eq!(q["health"]["at_risk"], false);
    assert_eq!(q["health"]["ack_rate"], json!(null));
    assert_problem(
        &app.get("/api/v1/admin/endpoints", &a).await,
        403,
        "forbidden",
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn operators_issue_short_lived_portal_links_stored_as_digests() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;

    let link = app
        .call(
            Method::POST,
            "/api/v1/partners/acme/portal-link",
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.body);
    let path = link.body["path"].as_str().unwrap();
    let token = path.strip_prefix("/portal/login?token=").unwrap();
    assert!(token.starts_with("twl_") && token.len() > 40, "{token}");
    assert!(link.body["url"].as_str().unwrap().ends_with(path));
    let expires: chrono::DateTime<chrono::Utc> =
        link.body["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = expires - chrono::Utc::now();
    assert!(
        ttl > chrono::Duration::minutes(14) && ttl <= chrono::Duration::minutes(15),
        "default TTL is 15 minutes: {ttl}"
    );
    let client = app.state.pool.get().await.unwrap();
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM portal_links WHERE partner_id = 'acme'
               AND position(convert_to($1, 'UTF8') IN token_hash) = 0",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1, "stored, and not in the clear");

    let post = |path: &'static str, auth: String| {
        let app = &app;
        async move { app.call(Method::POST, path, Some(&auth), None).await }
    };
    assert_problem(
        &post("/api/v1/partners/acme/portal-link", key.clone()).await,
        403,
        "forbidden",
    );
    assert_problem(
        &post("/api/v1/partners/nobody/portal-link", OPERATOR.into()).await,
        404,
        "not-found",
    );
    post("/api/v1/partners/acme/suspend", OPERATOR.into()).await;
    assert_problem(
        &post("/api/v1/partners/acme/portal-link", OPERATOR.into()).await,
        409,
        "conflict",
    );
    app.cleanup().await;
}
