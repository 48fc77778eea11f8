//! Built-in tracking end to end in headless chromium: a merchant with no
//! endpoint signs in, turns built-in tracking on, and watches one order go
//! through all six event types on the live dashboard (and its detail view)
//! without a reload, while the order's public tracking page follows.
//! Screenshots at desktop and phone width go to
//! `target/portal-screenshots/tracking-*.png`.

use std::time::Duration;

use serde_json::{json, Value};
use trackwire::dev::feed::{advance, new_order, OrderRow};

use super::steps::{fits_width, screenshots, Portal};
use super::webdriver::{Driver, Session};
use crate::harness::TestEnv;

const OPERATOR: &str = "operator-token-for-the-tracking-browser-test-01234";
const WAIT: Duration = Duration::from_secs(30);
const OTP: &str = "739184";
const ORDER: &str = "ORD-5521";

/// The steps of the order: OMS status, the label the pages show.
const STEPS: [(&str, &str); 7] = [
    ("CONFIRMED", "Order confirmed"),
    ("OUT_FOR_DELIVERY", "Out for delivery"),
    ("DELIVERY_FAILED", "Delivery attempt failed"),
    ("OUT_FOR_DELIVERY", "Out for delivery"),
    ("DELIVERED", "Delivered"),
    ("RETURN_INITIATED", "Return requested"),
    ("RETURN_PICKED_UP", "Return picked up"),
];

/// Marks the page; the mark survives only as long as the page is not
/// reloaded.
async fn mark(browser: &Session<'_>) {
    browser
        .execute("window.__notReloaded = 'yes'; return null;", json!([]))
        .await;
}

async fn still_marked(browser: &Session<'_>) -> bool {
    browser
        .execute("return window.__notReloaded || null;", json!([]))
        .await
        == "yes"
}

/// The tracking page's HTML must not hold the OTP, a phone or the customer.
async fn assert_page_is_clean(browser: &Session<'_>) {
    let html = browser
        .execute("return document.documentElement.outerHTML;", json!([]))
        .await;
    let html = html.as_str().unwrap_or_default();
    for private in [OTP, "98765", "43210", "CUST-ORD-5521", "Kumar"] {
        assert!(
            !html.contains(private),
            "{private} on the tracking page:\n{html}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_turns_tracking_on_and_follows_an_order_through_every_event_in_chromium() {
    let shots = screenshots();
    let env = TestEnv::new(1).await;
    env.partner("corner-shop").await;
    let mut portal = Portal::start(&env, OPERATOR, &[]).await;
    let base = portal.base.clone();
    let driver = Driver::start(&env.dir.join("chromedriver.log")).await;
    let browser = driver.session().await;

    // Sign in, and turn built-in tracking on: no endpoint, no key.
    portal.sign_in(&browser, "corner-shop", None).await;
    browser.goto(&format!("{base}/portal/tracking")).await;
    assert!(browser.text("#tracking-state").await.contains("Off"));
    browser
        .screenshot(&shots.join("tracking-01-setting-off.png"))
        .await;
    browser.click("#tracking-toggle").await;
    assert!(browser
        .text("main")
        .await
        .contains("Built-in tracking is on"));
    browser
        .screenshot(&shots.join("tracking-02-setting-on.png"))
        .await;

    let dashboard = format!("{base}/portal/orders");
    let detail = format!("{base}/portal/orders/{ORDER}");
    let status_cell = format!(r#"tr.order[data-order="{ORDER}"] .status"#);
    browser.goto(&dashboard).await;
    let mut row: Option<OrderRow> = None;
    let mut page_url = String::new();
    for (n, (oms, label)) in STEPS.iter().enumerate() {
        let next = match &row {
            None => new_order(ORDER, "corner-shop"),
            Some(before) => {
                let mut next = advance(before, oms, chrono::Utc::now());
                if next.delivery_otp.is_some() {
                    next.delivery_otp = Some(OTP.into());
                }
                next
            }
        };
        // The detail view follows one step live; the list follows the rest.
        let on_detail = *oms == "DELIVERED";
        browser
            .goto(if on_detail { &detail } else { &dashboard })
            .await;
        mark(&browser).await;
        env.change(if row.is_none() { "c" } else { "u" }, row.as_ref(), &next)
            .await;
        let watched = if on_detail {
            ".summary .status"
        } else {
            status_cell.as_str()
        };
        browser.wait_in_place(watched, label, WAIT).await;
        assert!(still_marked(&browser).await, "the page was reloaded");
        let kind = if on_detail { "detail" } else { "dashboard" };
        browser
            .screenshot(&shots.join(format!(
                "tracking-{:02}-{kind}-{}.png",
                n + 3,
                oms.to_lowercase()
            )))
            .await;
        if page_url.is_empty() {
            browser.goto(&detail).await;
            page_url = browser.text("#tracking-link").await;
            assert!(
                page_url.starts_with(&format!("{base}/track/")),
                "{page_url}"
            );
        }
        // The customer's page shows the same status.
        browser.goto(&page_url).await;
        assert_eq!(browser.text("p.status").await, *label);
        assert!(browser.text("h1").await.contains("M-ORD-5521"));
        assert!(browser.text("main").await.contains("corner-shop"));
        assert_page_is_clean(&browser).await;
        let text = browser.text("main").await;
        match *oms {
            "OUT_FOR_DELIVERY" => assert!(text.contains("Your rider is Ravi"), "{text}"),
            "DELIVERY_FAILED" => assert!(text.contains("What happens next"), "{text}"),
            "RETURN_PICKED_UP" => assert!(text.contains("Picked up from you (done)"), "{text}"),
            _ => {}
        }
        browser
            .screenshot(&shots.join(format!(
                "tracking-{:02}-page-{}.png",
                n + 3,
                oms.to_lowercase()
            )))
            .await;
        row = Some(next);
    }
    let entries = browser
        .execute(
            "return document.querySelectorAll('ol.timeline li').length;",
            json!([]),
        )
        .await;
    assert_eq!(
        entries,
        Value::from(STEPS.len()),
        "one timeline entry per event"
    );

    // The same three pages on a phone-sized screen.
    browser.resize(390, 844).await;
    browser.goto(&page_url).await;
    browser
        .screenshot(&shots.join("tracking-20-phone-page.png"))
        .await;
    assert!(
        fits_width(&browser).await,
        "the tracking page scrolls sideways on a phone"
    );
    browser.goto(&dashboard).await;
    browser
        .screenshot(&shots.join("tracking-21-phone-dashboard.png"))
        .await;
    browser.goto(&detail).await;
    browser
        .screenshot(&shots.join("tracking-22-phone-detail.png"))
        .await;
    browser.quit().await;
    portal.service.assert_running();
}
