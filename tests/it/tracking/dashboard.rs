//! The orders dashboard in-process: filters, search, keyset pages, the
//! detail view, the live fragments, and tenant isolation of all of them and
//! of the page tokens.

use actix_web::http::StatusCode;
use chrono::{Duration, Utc};
use trackwire::schema::EventType;

use super::{event, ingest, page, set_tracking, token_of};
use crate::api::TestApp;
use crate::portal::Browser;

/// The order ids a dashboard page lists, in order.
fn listed(html: &str) -> Vec<String> {
    html.split(r#"<tr class="order" data-order=""#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The `href` of the element with `id`.
fn href(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!(r#"id="{id}" href=""#))?;
    let rest = &html[at + id.len() + 12..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

#[actix_web::test]
async fn the_dashboard_filters_searches_and_pages_newest_change_first() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    set_tracking(&app, "acme", true).await;
    let now = Utc::now();
    // 120 orders, one a minute back in time; every third one is delivered.
    let mut batch = Vec::new();
    for i in 0..120 {
        // Half a minute off the minute, so "last hour" has no order on its edge.
        let at = now - Duration::minutes(i) - Duration::seconds(30);
        let order = format!("O-{i:03}");
        batch.push(event("acme", &order, EventType::OrderConfirmed, 0, at));
        if i % 3 == 0 {
            batch.push(event("acme", &order, EventType::OutForDelivery, 1, at));
            batch.push(event("acme", &order, EventType::Delivered, 2, at));
        }
    }
    ingest(&app, &batch).await;
    let browser = Browser::sign_in(&app, "acme").await;

    let first = browser.get(&app, "/portal/orders").await;
    assert_eq!(first.status, StatusCode::OK);
    let ids = listed(&first.body);
    assert_eq!(ids.len(), 50);
    assert_eq!(ids[0], "O-000", "newest change first");
    assert!(first.body.contains(r#"data-live="/portal/live/orders?"#));
    assert!(first
        .body
        .contains(r#"<script src="/portal/static/live.js"></script>"#));
    let mut seen = ids.clone();
    let mut next = href(&first.body, "older");
    while let Some(url) = next {
        let older = browser.get(&app, &url).await;
        seen.extend(listed(&older.body));
        next = href(&older.body, "older");
    }
    let expected: Vec<String> = (0..120).map(|i| format!("O-{i:03}")).collect();
    assert_eq!(seen, expected, "every order once, in order, across pages");

    let delivered = browser.get(&app, "/portal/orders?status=delivered").await;
    let ids = listed(&delivered.body);
    assert_eq!(ids.len(), 40);
    assert!(ids
        .iter()
        .all(|id| id[2..].parse::<i64>().unwrap() % 3 == 0));
    assert!(delivered
        .body
        .contains(r#"<span class="badge ok">Delivered</span>"#));
    let recent = browser.get(&app, "/portal/orders?period=1h").await;
    assert_eq!(
        listed(&recent.body).len(),
        50,
        "60 orders in the last hour, the first 50"
    );
    let both = browser
        .get(&app, "/portal/orders?status=delivered&period=1h")
        .await;
    assert_eq!(listed(&both.body).len(), 20);

    for q in ["O-042", "REF-O-042", "CUST-O-042", "%20O-042%20"] {
        let found = browser.get(&app, &format!("/portal/orders?q={q}")).await;
        assert_eq!(listed(&found.body), vec!["O-042".to_owned()], "{q}");
    }
    let none = browser.get(&app, "/portal/orders?q=O-04").await;
    assert!(listed(&none.body).is_empty() && none.body.contains("No orders match"));
    let bad = browser.get(&app, "/portal/orders?status=lost").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("status"), "{}", bad.body);

    // The live fragment is the same list, alone, and never cached.
    let live = browser
        .get(&app, "/portal/live/orders?status=delivered")
        .await;
    assert_eq!(listed(&live.body), listed(&delivered.body));
    assert!(!live.body.contains("<html"));

    let detail = browser.get(&app, "/portal/orders/O-003").await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body.matches(r#"<tr class="entry">"#).count(), 3);
    assert!(
        detail.body.contains("CUST-O-003"),
        "the merchant sees its customer id"
    );
    assert!(detail.body.contains("rider Ravi"));
    let token = token_of(&app, "acme", "O-003").await.unwrap();
    assert!(detail.body.contains(&format!("/track/{token}")));
    let live = browser.get(&app, "/portal/live/orders/O-003").await;
    assert_eq!(live.body.matches(r#"<tr class="entry">"#).count(), 3);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_partner_never_sees_another_partners_orders_search_results_or_pages() {
    let app = TestApp::spawn().await;
    app.partner("acme").await;
    app.partner("zeta").await;
    set_tracking(&app, "acme", true).await;
    set_tracking(&app, "zeta", true).await;
    let now = Utc::now();
    ingest(
        &app,
        &[
            event("acme", "A-1", EventType::OrderConfirmed, 0, now),
            event("zeta", "Z-1", EventType::OrderConfirmed, 0, now),
            // The same order id at two partners stays two orders.
            event("zeta", "SHARED", EventType::Delivered, 0, now),
            event("acme", "SHARED", EventType::OrderConfirmed, 1, now),
        ],
    )
    .await;
    let acme = Browser::sign_in(&app, "acme").await;

    let list = acme.get(&app, "/portal/orders").await;
    let mut ids = listed(&list.body);
    ids.sort();
    assert_eq!(ids, vec!["A-1".to_owned(), "SHARED".to_owned()]);
    for q in ["Z-1", "REF-Z-1", "CUST-Z-1"] {
        let found = acme.get(&app, &format!("/portal/orders?q={q}")).await;
        assert!(
            listed(&found.body).is_empty(),
            "{q} found another partner's order"
        );
    }
    for path in ["/portal/orders/Z-1", "/portal/live/orders/Z-1"] {
        assert_eq!(
            acme.get(&app, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let shared = acme.get(&app, "/portal/orders/SHARED").await;
    assert!(shared.body.contains("Order confirmed") && !shared.body.contains("Delivered"));

    let zeta_token = token_of(&app, "zeta", "Z-1").await.unwrap();
    let stolen = acme.post(&app, "/portal/orders/Z-1/new-link", &[]).await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);
    assert_eq!(token_of(&app, "zeta", "Z-1").await.unwrap(), zeta_token);

    // Each token shows its own partner's order only.
    let zeta_page = page(&app, &zeta_token).await.body;
    assert!(zeta_page.contains("Partner zeta") && !zeta_page.contains("acme"));
    let acme_shared = token_of(&app, "acme", "SHARED").await.unwrap();
    let zeta_shared = token_of(&app, "zeta", "SHARED").await.unwrap();
    assert_ne!(acme_shared, zeta_shared);
    let a = page(&app, &acme_shared).await.body;
    assert!(
        a.contains("Partner acme") && a.contains("Order confirmed") && !a.contains("Delivered")
    );
    // One partner's toggle does not withdraw the other's pages.
    set_tracking(&app, "acme", false).await;
    assert_eq!(page(&app, &acme_shared).await.status, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, &zeta_shared).await.status, StatusCode::OK);
    app.cleanup().await;
}
