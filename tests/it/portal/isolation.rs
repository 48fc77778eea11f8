//! Sign-in, CSRF and tenant isolation of the portal, in-process.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;

use super::{cookie_value, login, redeem, send, Browser};
use crate::api::{TestApp, OPERATOR};

#[actix_web::test]
async fn a_sign_in_link_works_once_and_sets_a_strict_http_only_cookie() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    let link = app
        .call(
            Method::POST,
            "/api/v1/partners/acme/portal-link",
            Some(OPERATOR),
            None,
        )
        .await;
    let token = link.body["path"]
        .as_str()
        .unwrap()
        .split_once("token=")
        .unwrap()
        .1
        .to_owned();

    let shown = send(
        &app,
        TestRequest::get().uri(&format!("/portal/login?token={token}")),
    )
    .await;
    assert!(shown.body.contains("Partner acme (acme)"), "{}", shown.body);
    // Showing the page does not use the link up (mail scanners fetch links).
    let first = redeem(&app, &token).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.location, "/portal/endpoints");
    let cookie = first
        .set_cookies
        .iter()
        .find(|c| c.starts_with("tw_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/portal", "Max-Age="] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    let session = cookie_value(&first, "tw_session").unwrap();
    let client = app.state.pool.get().await.unwrap();
    let clear: i64 = client
        .query_one(
            "SELECT count(*) FROM portal_sessions
             WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0",
            &[&session],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(clear, 0, "sessions are stored as digests");

    let again = redeem(&app, &token).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("expired or was used already"));
    assert!(cookie_value(&again, "tw_session").is_none());

    // Behind TLS (or on any other host) the cookie is Secure.
    let link = app
        .call(
            Method::POST,
            "/api/v1/partners/acme/portal-link",
            Some(OPERATOR),
            None,
        )
        .await;
    let token = link.body["path"]
        .as_str()
        .unwrap()
        .split_once("token=")
        .unwrap()
        .1
        .to_owned();
    let tls = send(
        &app,
        TestRequest::post()
            .uri("/portal/login")
            .insert_header(("cookie", "tw_login=abc"))
            .insert_header(("x-forwarded-proto", "https"))
            .set_form([("login_csrf", "abc"), ("token", token.as_str())]),
    )
    .await;
    assert_eq!(tls.status, StatusCode::SEE_OTHER, "{}", tls.body);
    assert!(tls
        .set_cookies
        .iter()
        .any(|c| c.starts_with("tw_session=") && c.contains("; Secure")));

    // An expired link is refused.
    let link = app
        .call(
            Method::POST,
            "/api/v1/partners/acme/portal-link",
            Some(OPERATOR),
            None,
        )
        .await;
    let token = link.body["path"]
        .as_str()
        .unwrap()
        .split_once("token=")
        .unwrap()
        .1
        .to_owned();
    app.sql("UPDATE portal_links SET expires_at = now() - interval '1 second'")
        .await;
    assert_eq!(redeem(&app, &token).await.status, StatusCode::UNAUTHORIZED);
    app.cleanup().await;
}

#[actix_web::test]
async fn an_api_key_signs_in_and_revoking_it_ends_the_session() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let bad = login(&app, "/portal/login", &[("api_key", "tw_live_nope")]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.body.contains("not valid"));
    // A sign-in form posted without its CSRF cookie (cross-site) is refused.
    let forged = send(
        &app,
        TestRequest::post()
            .uri("/portal/login")
            .set_form([("login_csrf", "x"), ("api_key", key.as_str())]),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let ok = login(&app, "/portal/login", &[("api_key", &key)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let browser = Browser::from_session(&app, &ok).await;
    let keys = app.get("/api/v1/partners/acme/keys", OPERATOR).await;
    let key_id = keys.body["items"][0]["id"].as_str().unwrap().to_owned();
    app.call(
        Method::DELETE,
        &format!("/api/v1/partners/acme/keys/{key_id}"),
        Some(OPERATOR),
        None,
    )
    .await;
    let after = browser.get(&app, "/portal/endpoints").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location, "/portal/login");

    // Signing out ends a session for good.
    let browser = Browser::sign_in(&app, "acme").await;
    let out = browser.post(&app, "/portal/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.get(&app, "/portal/events").await.status,
        StatusCode::SEE_OTHER
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn partner_a_session_can_neither_see_nor_touch_partner_b() {
    let app = TestApp::spawn().await;
    let key_a = app.partner("alpha").await;
    let key_b = app.partner("bravo").await;
    app.endpoint(&key_a, "https://hooks.alpha.example/", &["delivered"])
        .await;
    let (b_endpoint, _) = app
        .endpoint(
            &key_b,
            "https://hooks.bravo.example/secret-path",
            &["delivered"],
        )
        .await;
    let b_event = app.event("bravo", "delivered").await;
    app.sql(&format!(
        "UPDATE deliveries SET state = 'dead', attempts = 4 WHERE event_id = '{b_event}'"
    ))
    .await;
    let b_detail = app.get(&format!("/api/v1/events/{b_event}"), &key_b).await;
    let b_delivery = b_detail.body["event"]["deliveries"][0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let a = Browser::sign_in(&app, "alpha").await;
    let b = Browser::sign_in(&app, "bravo").await;
    let before = state_of(&app, &b_endpoint).await;

    let ep = format!("/portal/endpoints/{b_endpoint}");
    for uri in [ep.clone(), format!("/portal/events/{b_event}")] {
        let page = a.get(&app, &uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {uri}");
        assert!(!page.body.contains("bravo"), "GET {uri} leaks");
    }
    let edit = [
        ("url", "https://evil.example/"),
        ("event_types", "delivered"),
        ("enabled", "1"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (ep.clone(), edit.to_vec()),
        (format!("{ep}/delete"), vec![("confirm", "1")]),
        (format!("{ep}/rotate-secret"), vec![]),
        (format!("{ep}/test"), vec![("event_type", "delivered")]),
        (format!("/portal/deliveries/{b_delivery}/retry"), vec![]),
    ];
    for (uri, fields) in &posts {
        let page = a.post(&app, uri, fields).await;
        assert_eq!(
            page.status,
            StatusCode::NOT_FOUND,
            "POST {uri}: {}",
            page.body
        );
        assert!(!page.body.contains("bravo"), "POST {uri} leaks");
    }
    for uri in [
        "/portal/endpoints",
        "/portal/events",
        "/portal/health",
        "/portal/events?status=dead",
    ] {
        let page = a.get(&app, uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        assert!(
            !page.body.contains("bravo") && !page.body.contains(&b_endpoint),
            "{uri} lists B's data"
        );
    }

    // A bulk retry by A never reaches B's dead delivery.
    let bulk = a
        .post(&app, "/portal/deliveries/retry", &[("status", "dead")])
        .await;
    assert_eq!(bulk.status, StatusCode::SEE_OTHER, "{}", bulk.body);
    let posts: Vec<(String, Vec<(&str, &str)>)> = posts
        .into_iter()
        .chain([(
            "/portal/deliveries/retry".to_owned(),
            vec![("status", "dead")],
        )])
        .collect();

    // CSRF: every form needs the session's own token.
    for (uri, fields) in &posts {
        let mut missing = fields.clone();
        missing.retain(|(k, _)| *k != "csrf");
        let without = b.post_raw(&app, uri, &missing).await;
        assert_eq!(
            without.status,
            StatusCode::FORBIDDEN,
            "no token: POST {uri}"
        );
        let mut wrong = vec![("csrf", a.csrf.as_str())];
        wrong.extend_from_slice(fields);
        let others = b.post_raw(&app, uri, &wrong).await;
        assert_eq!(
            others.status,
            StatusCode::FORBIDDEN,
            "A's token in B's session: POST {uri}"
        );
    }
    let create = [
        ("url", "https://hooks.bravo.example/2"),
        ("event_types", "delivered"),
        ("schema_version", "v1"),
    ];
    let mut forged = vec![("csrf", "0000")];
    forged.extend_from_slice(&create);
    assert_eq!(
        b.post_raw(&app, "/portal/endpoints", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.post_raw(&app, "/portal/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );

    assert_eq!(
        state_of(&app, &b_endpoint).await,
        before,
        "nothing of B's changed"
    );
    // B's own session still works on the same routes.
    assert_eq!(b.get(&app, &ep).await.status, StatusCode::OK);
    let dead_log = b.get(&app, "/portal/events?status=dead").await;
    assert!(
        dead_log.body.contains("id=\"retry-all\""),
        "{}",
        dead_log.body
    );
    let bulk = b
        .post(&app, "/portal/deliveries/retry", &[("status", "dead")])
        .await;
    assert_eq!(bulk.status, StatusCode::SEE_OTHER);
    assert!(
        bulk.location.contains("notice=retried"),
        "{}",
        bulk.location
    );
    assert_ne!(
        state_of(&app, &b_endpoint).await,
        before,
        "B's retry queued"
    );
    // Without a session, pages send the browser to sign in.
    let anonymous = send(&app, TestRequest::get().uri(&ep)).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location, "/portal/login");
    app.cleanup().await;
}

#[actix_web::test]
async fn partner_content_is_escaped_and_the_otp_is_masked() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    let browser = Browser::sign_in(&app, "acme").await;
    let created = browser
        .post(
            &app,
            "/portal/endpoints",
            &[
                ("url", "https://hooks.acme.example/in"),
                ("description", "<script>alert('x')</script>"),
                ("event_types", "out_for_delivery"),
                ("event_types", "delivered"),
                ("schema_version", "v1"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.contains("whsec_"), "the secret is shown once");
    let list = browser.get(&app, "/portal/endpoints").await;
    assert!(list
        .body
        .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(!list.body.contains("<script>"));
    assert!(!list.body.contains("whsec_"), "secrets are never listed");

    // Bad input comes back on the form, with what was typed.
    let bad = browser
        .post(
            &app,
            "/portal/endpoints",
            &[
                ("url", "ftp://x.example/"),
                ("description", "kept"),
                ("schema_version", "v1"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(r#"value="ftp://x.example/""#) && bad.body.contains(r#"value="kept""#)
    );

    let event = app.event("acme", "out_for_delivery").await;
    // The API hides it too, so the OTP is read from the store.
    let otp: String = app
        .state
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT data->>'delivery_otp' FROM events WHERE id = $1",
            &[&event],
        )
        .await
        .unwrap()
        .get(0);
    let api = app.get(&format!("/api/v1/events/{event}"), &key).await;
    assert!(
        !api.body.to_string().contains(&format!("\"{otp}\"")),
        "{}",
        api.body
    );
    let page = browser.get(&app, &format!("/portal/events/{event}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("&quot;delivery_otp&quot;: &quot;•••• (hidden)&quot;"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("&quot;{otp}&quot;")),
        "the OTP is not shown"
    );
    app.cleanup().await;
}

/// An endpoint and its deliveries as stored, to compare before and after.
async fn state_of(app: &TestApp, endpoint: &str) -> String {
    let client = app.state.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT e.url || e.enabled::text || e.updated_at::text
                    || (SELECT count(*) FROM endpoint_secrets s WHERE s.endpoint_id = e.id)::text
                    || (SELECT count(*) FROM events)::text
                    || (SELECT string_agg(d.state || d.attempts || d.manual_retry_requested, ',')
                        FROM deliveries d WHERE d.endpoint_id = e.id)
             FROM endpoints e WHERE e.id = $1",
            &[&endpoint],
        )
        .await
        .unwrap();
    row.get(0)
}
