//! What ingest keeps for tracked orders, and the public page: its content
//! rules on every event type, its headers, its 404s, and the toggle.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Utc;
use trackwire::schema::EventType;

use super::{event, ingest, page, send, set_tracking, token_of, JOURNEY, OTP};
use crate::api::TestApp;
use crate::portal::Browser;

/// Asserts that `html` holds nothing a tracking page must never show.
fn assert_no_private_fields(html: &str, events: &[trackwire::schema::EventData]) {
    for e in events {
        if let Some(otp) = &e.delivery_otp {
            assert!(!html.contains(otp.expose()), "OTP shown");
        }
        if let Some(phone) = &e.rider_phone_masked {
            assert!(!html.contains(phone.as_str()), "phone {phone} shown");
        }
        assert!(
            !html.contains("98765") && !html.contains("43210"),
            "phone digits shown"
        );
        if let Some(customer) = &e.customer_id {
            assert!(!html.contains(customer.as_str()), "customer id shown");
        }
        assert!(!html.contains("Kumar"), "the rider's full name is shown");
    }
    assert!(!html.contains(OTP));
    assert!(!html.contains("delivery_otp") && !html.contains("customer"));
}

#[actix_web::test]
async fn a_tracked_order_keeps_its_status_timeline_and_one_page_link() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    app.partner("zeta").await;
    set_tracking(&app, "acme", true).await;
    let now = Utc::now();
    let events: Vec<_> = JOURNEY
        .iter()
        .enumerate()
        .map(|(n, t)| event("acme", "O-1", *t, n as i64, now))
        .collect();
    let stored = ingest(&app, &events).await;
    let token = token_of(&app, "acme", "O-1").await.expect("a page token");
    let url = app.state.api.tracking_pages.url(&token);
    assert_eq!(stored.len(), 6);
    assert!(stored
        .iter()
        .all(|s| s.tracking_url.as_deref() == Some(url.as_str())));
    let client = app.state.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT event_type, last_sequence, (SELECT count(*) FROM order_timeline t
                 WHERE t.order_id = o.order_id),
                    (SELECT count(*) FROM events e WHERE e.data->>'tracking_url' = $1)
             FROM tracked_orders o WHERE partner_id = 'acme' AND order_id = 'O-1'",
            &[&url],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "return_picked_up");
    assert_eq!(row.get::<_, i64>(1), 6);
    assert_eq!(row.get::<_, i64>(2), 6, "one timeline entry per event");
    assert_eq!(row.get::<_, i64>(3), 6, "the stored payload links the page");
    // The timeline holds no OTP, phone or customer id anywhere.
    let dump: String = client
        .query_one("SELECT string_agg(t::text, ' ') FROM order_timeline t", &[])
        .await
        .unwrap()
        .get(0);
    assert_no_private_fields(&dump, &events);

    // A replay of the same records adds nothing.
    assert!(ingest(&app, &events).await.is_empty());
    let n: i64 = client
        .query_one("SELECT count(*) FROM order_timeline", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 6);

    // A partner without the toggle: no page, no rows, no link.
    let plain = ingest(
        &app,
        &[event("zeta", "Z-1", EventType::OrderConfirmed, 0, now)],
    )
    .await;
    assert_eq!(plain[0].tracking_url, None);
    assert_eq!(token_of(&app, "zeta", "Z-1").await, None);

    // A configured template wins over the built-in page.
    let mut templated = event("acme", "O-2", EventType::OrderConfirmed, 0, now);
    templated.tracking_url = Some("https://shop.example/track/O-2".into());
    let stored = ingest(&app, &[templated]).await;
    assert_eq!(stored[0].tracking_url, None, "the template's link stays");
    assert!(
        token_of(&app, "acme", "O-2").await.is_some(),
        "still on the dashboard"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn the_page_follows_every_event_type_and_never_shows_otp_phone_or_customer_id() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    set_tracking(&app, "acme", true).await;
    let now = Utc::now();
    let mut sent = Vec::new();
    for (n, t) in JOURNEY.iter().enumerate() {
        let e = event("acme", "O-7", *t, n as i64, now);
        ingest(&app, std::slice::from_ref(&e)).await;
        sent.push(e);
        let token = token_of(&app, "acme", "O-7").await.unwrap();
        let reply = page(&app, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let html = &reply.body;
        assert!(html.contains("Partner acme"), "the merchant's name");
        assert!(html.contains("Order REF-O-7"), "the order reference");
        let label = trackwire::http::tracking_page::label(*t);
        assert!(
            html.contains(&format!(r#"<p class="status {}">{label}</p>"#, t.as_str())),
            "{html}"
        );
        assert_eq!(
            html.matches("<li><strong>").count(),
            n + 1,
            "a text timeline"
        );
        assert_no_private_fields(html, &sent);
        assert!(
            sent.iter().all(|e| !html.contains(&e.event_id)),
            "event ids are internal"
        );
        match t {
            EventType::OutForDelivery => {
                assert!(
                    html.contains("Your rider is <strong>Ravi</strong>"),
                    "{html}"
                );
                assert!(html.contains("Expected between"), "{html}");
            }
            EventType::DeliveryFailed => {
                assert!(html.contains("Customer not reachable"), "{html}");
                assert!(html.contains("What happens next"), "{html}");
            }
            EventType::ReturnInitiated => {
                assert!(html.contains("Return progress") && html.contains("Item does not fit"));
                assert!(html.contains("Picked up from you <span class=\"muted\">(to come)"));
            }
            EventType::ReturnPickedUp => {
                assert!(html.contains("Picked up from you <span class=\"muted\">(done)"));
            }
            _ => {}
        }
        // Light: no scripts, fonts, images or other requests; small.
        assert!(html.len() < 30 * 1024, "{} bytes", html.len());
        for forbidden in ["<script", "<img", "<link", "@import", "url(", "src="] {
            assert!(!html.contains(forbidden), "{forbidden} in the page");
        }
        assert!(html.contains(r#"<html lang="en">"#) && html.contains("<h1>"));
        // Revalidated on every view; a 304 while nothing changed.
        assert_eq!(reply.header("cache-control"), "private, no-cache");
        assert_eq!(reply.header("referrer-policy"), "no-referrer");
        let etag = reply.header("etag").to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");
        let again = send(
            &app,
            TestRequest::get()
                .uri(&format!("/track/{token}"))
                .insert_header(("if-none-match", etag.clone())),
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn unknown_replaced_and_withdrawn_links_get_a_plain_404() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    set_tracking(&app, "acme", true).await;
    ingest(
        &app,
        &[event(
            "acme",
            "O-1",
            EventType::OrderConfirmed,
            0,
            Utc::now(),
        )],
    )
    .await;
    let token = token_of(&app, "acme", "O-1").await.unwrap();
    assert_eq!(page(&app, &token).await.status, StatusCode::OK);

    for guess in [
        "O-1",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "x",
        &token[..21],
        &token.to_uppercase(),
    ] {
        if guess == token {
            continue;
        }
        let reply = page(&app, guess).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{guess}");
        assert!(reply.body.contains("Page not found"));
        assert!(!reply.body.contains("REF-O-1") && !reply.body.contains("acme"));
        assert_eq!(reply.header("cache-control"), "private, no-store");
    }

    // The merchant makes a new link: the old one is gone at once.
    let browser = Browser::sign_in(&app, "acme").await;
    let made = browser.post(&app, "/portal/orders/O-1/new-link", &[]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let fresh = token_of(&app, "acme", "O-1").await.unwrap();
    assert_ne!(fresh, token);
    assert_eq!(page(&app, &token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, &fresh).await.status, StatusCode::OK);

    // Off withdraws the pages; on brings them back.
    set_tracking(&app, "acme", false).await;
    assert_eq!(page(&app, &fresh).await.status, StatusCode::NOT_FOUND);
    set_tracking(&app, "acme", true).await;
    assert_eq!(page(&app, &fresh).await.status, StatusCode::OK);
    app.cleanup().await;
}

#[actix_web::test]
async fn turning_the_toggle_off_stops_new_pages_and_keeps_the_history() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    set_tracking(&app, "acme", true).await;
    let now = Utc::now();
    ingest(
        &app,
        &[event("acme", "O-1", EventType::OrderConfirmed, 0, now)],
    )
    .await;

    set_tracking(&app, "acme", false).await;
    let stored = ingest(
        &app,
        &[
            event("acme", "O-2", EventType::OrderConfirmed, 0, now),
            event("acme", "O-1", EventType::OutForDelivery, 1, now),
        ],
    )
    .await;
    assert_eq!(stored.len(), 2, "the events themselves are stored");
    assert!(
        stored.iter().all(|s| s.tracking_url.is_none()),
        "no link to a page"
    );
    assert_eq!(token_of(&app, "acme", "O-2").await, None, "no new page");
    let client = app.state.pool.get().await.unwrap();
    let kept = client
        .query_one(
            "SELECT event_type, (SELECT count(*) FROM order_timeline) FROM tracked_orders
             WHERE order_id = 'O-1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        kept.get::<_, &str>(0),
        "order_confirmed",
        "nothing new recorded"
    );
    assert_eq!(kept.get::<_, i64>(1), 1);
    let browser = Browser::sign_in(&app, "acme").await;
    let dashboard = browser.get(&app, "/portal/orders").await;
    assert!(
        dashboard.body.contains(r#"data-order="O-1""#),
        "history kept"
    );
    assert!(!dashboard.body.contains(r#"data-order="O-2""#));
    assert!(dashboard.body.contains("Built-in tracking is off"));
    app.cleanup().await;
}
