//! End to end in headless chromium: the real binary on a real port, a mock
//! Kafka cluster, a local receiver, and a new partner going from an
//! operator's sign-in link to a verified test event, then a failed live
//! event retried by hand. Screenshots of the main pages go to
//! `target/portal-screenshots/`.

use std::time::{Duration, Instant};

use serde_json::Value;
use trackwire::dev::feed::new_order;
use trackwire::schema::{json_schema, SchemaVersion};

use super::steps::{screenshots, Portal};
use super::webdriver::Driver;
use crate::harness::TestEnv;
use crate::receiver::{Behavior, Received, Receiver};

const OPERATOR: &str = "operator-token-for-the-browser-test-0123456789";
const WAIT: Duration = Duration::from_secs(30);

/// The endpoint was added without choosing a version: it gets v2, and its
/// payloads validate against `schemas/v2.json`.
fn assert_is_v2(received: &Received) {
    let schema: Value = serde_json::from_str(json_schema(SchemaVersion::V2)).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let body = received.json();
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "not a v2 payload: {errors:?}\n{body}");
    assert_eq!(received.header("webhook-schema-version"), "v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_partner_goes_live_and_retries_a_failed_event_in_chromium() {
    let shots = screenshots();
    let env = TestEnv::new(1).await;
    let receiver = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let mut portal = Portal::start(
        &env,
        OPERATOR,
        &[("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "100ms")],
    )
    .await;
    let base = portal.base.clone();
    let driver = Driver::start(&env.dir.join("chromedriver.log")).await;
    let browser = driver.session().await;

    // The partner: link → portal → endpoint → test event → 200.
    let started = Instant::now();
    portal
        .sign_in(&browser, "acme", Some(&shots.join("01-sign-in.png")))
        .await;
    assert!(browser.url().await.ends_with("/portal/endpoints"));
    browser
        .screenshot(&shots.join("02-endpoints-empty.png"))
        .await;
    browser.fill("#url", &receiver.url()).await;
    browser.fill("#description", "Ops dashboard").await;
    browser.click("#create").await;
    let created = browser.text("main").await;
    assert!(created.contains("Endpoint added"), "{created}");
    assert!(created.contains("whsec_"), "the secret is shown once");
    browser
        .screenshot(&shots.join("03-endpoint-created.png"))
        .await;
    browser.click("#send-test").await;
    assert_eq!(browser.text("#test-status").await, "200");
    let walkthrough = started.elapsed();
    browser.screenshot(&shots.join("04-test-event.png")).await;
    let first = receiver.received();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].json()["is_test"], true);
    assert_is_v2(&first[0]);
    let summary = format!(
        "sign-in link to a verified test event: 4 pages (link, endpoints, endpoint added, \
         test result), 3 clicks, 1 required field (URL), {:.1} s driven by the test\n",
        walkthrough.as_secs_f64()
    );
    eprintln!("{summary}");
    std::fs::write(shots.join("walkthrough.txt"), &summary).expect("walkthrough");

    // A live event fails at a receiver answering 500 until it is dead.
    receiver.set(Behavior::Status(500));
    env.change("c", None, &new_order("O-1", "acme")).await;
    let failed_log = format!("{base}/portal/events?status=dead");
    browser
        .wait_for_text(&failed_log, "tbody", "dead", WAIT)
        .await;
    browser
        .screenshot(&shots.join("05-event-log-dead.png"))
        .await;
    browser.click("tr.event a").await;
    let dead = browser.text(".delivery").await;
    assert!(dead.contains("dead") && dead.contains("500"), "{dead}");
    assert!(!dead.contains("manual"), "{dead}");
    browser.screenshot(&shots.join("06-event-dead.png")).await;

    // The receiver is fixed; one click retries the delivery.
    receiver.set(Behavior::Status(200));
    let event_page = browser.url().await;
    browser.click("button.retry").await;
    assert!(browser.text("main").await.contains("Retry queued"));
    let event_page = event_page.split('?').next().unwrap().to_owned();
    browser
        .wait_for_text(&event_page, ".delivery .status", "delivered", WAIT)
        .await;
    let history = browser.text(".delivery").await;
    let automatic = history.matches("automatic").count();
    assert!(
        automatic >= 2,
        "the failed attempts stay in the history: {history}"
    );
    assert_eq!(history.matches("manual").count(), 1, "{history}");
    assert!(history.contains("200"), "{history}");
    browser
        .screenshot(&shots.join("07-event-delivered.png"))
        .await;
    let live_ids: Vec<String> = receiver
        .received()
        .iter()
        .skip(1)
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert!(live_ids.len() >= 3 && live_ids.iter().all(|id| *id == live_ids[0]));
    assert!(receiver.received().last().unwrap().acked());

    // The log, the health page, and the portal on a phone-sized screen.
    browser.goto(&format!("{base}/portal/events")).await;
    assert!(browser.text("tbody").await.contains("delivered"));
    browser.screenshot(&shots.join("08-event-log.png")).await;
    browser.goto(&format!("{base}/portal/health")).await;
    let health = browser.text("main").await;
    assert!(health.contains("Circuit breaker"), "{health}");
    assert!(
        browser.try_find(".health svg rect").await.is_some(),
        "chart bars"
    );
    browser.screenshot(&shots.join("09-health.png")).await;
    browser.resize(390, 844).await;
    browser.goto(&format!("{base}/portal/endpoints")).await;
    browser
        .screenshot(&shots.join("10-phone-endpoints.png"))
        .await;
    browser.goto(&event_page).await;
    browser.screenshot(&shots.join("11-phone-event.png")).await;
    browser.quit().await;
    portal.service.assert_running();
}
