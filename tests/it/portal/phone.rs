//! The portal at a phone's width (390 px) in headless chromium: every cell
//! of the event log and of the attempts table lies inside the screen, and
//! the health chart's labels are large enough to read. Screenshots go to
//! `target/portal-screenshots/phone-*.png`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trackwire::dev::feed::new_order;
use trackwire::schema::EventType;

use super::webdriver::{free_port, Driver, Session};
use crate::harness::TestEnv;
use crate::receiver::{Behavior, Receiver};

const OPERATOR: &str = "operator-token-for-the-phone-test-0123456789ab";
const WAIT: Duration = Duration::from_secs(30);

/// One HTTP/1.0 request: the status and the body as JSON.
async fn request(addr: &str, method: &str, path: &str) -> Option<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {OPERATOR}\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// The elements `css` selects that reach past the viewport's right edge or
/// have no width, as their text.
async fn cut_off(browser: &Session<'_>, css: &str) -> Value {
    browser
        .execute(
            "const w = document.documentElement.clientWidth;
             const all = [...document.querySelectorAll(arguments[0])];
             if (all.length === 0) return ['nothing matches ' + arguments[0]];
             return all.filter(e => { const r = e.getBoundingClientRect();
                                      return r.right > w + 1 || r.width === 0; })
                       .map(e => e.textContent);",
            json!([css]),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_attempts_and_chart_fit_a_phone() {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/portal-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let env = TestEnv::new(1).await;
    let receiver = Receiver::start(Behavior::Status(500)).await;
    env.partner("acme").await;
    env.endpoint("acme", &receiver.url(), &EventType::ALL).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let mut service = env.service(&[
        ("TRACKWIRE_HTTP__LISTEN", &listen),
        ("TRACKWIRE_HTTP__OPERATOR_TOKEN", OPERATOR),
        ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "100ms,100ms"),
    ]);
    let deadline = Instant::now() + WAIT;
    while request(&listen, "GET", "/health/ready").await.map(|r| r.0) != Some(200) {
        service.assert_running();
        assert!(Instant::now() < deadline, "not ready:\n{}", service.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.change("c", None, &new_order("ORD-2026-000123456", "acme"))
        .await;
    let (status, link) = request(&listen, "POST", "/api/v1/partners/acme/portal-link")
        .await
        .expect("portal link");
    assert_eq!(status, 201, "{link}");

    let driver = Driver::start(&env.dir.join("chromedriver.log")).await;
    let browser = driver.session().await;
    browser.goto(link["url"].as_str().unwrap()).await;
    browser.click("#continue").await;
    browser.resize(390, 844).await;
    let width = browser
        .execute("return document.documentElement.clientWidth;", json!([]))
        .await;
    assert!(width.as_u64().is_some_and(|w| w <= 400), "viewport {width}");

    let base = format!("http://{listen}");
    browser
        .wait_for_text(&format!("{base}/portal/events"), "tbody", "dead", WAIT)
        .await;
    browser.screenshot(&shots.join("phone-event-log.png")).await;
    assert_eq!(cut_off(&browser, "tr.event td").await, json!([]));

    browser.click("tr.event a").await;
    browser.screenshot(&shots.join("phone-attempts.png")).await;
    assert_eq!(cut_off(&browser, "tr.attempt td").await, json!([]));

    browser.goto(&format!("{base}/portal/health")).await;
    browser.screenshot(&shots.join("phone-health.png")).await;
    let smallest = browser
        .execute(
            "const hs = [...document.querySelectorAll('.health svg text')]
                 .map(t => t.getBoundingClientRect().height);
             return hs.length ? Math.min(...hs) : 0;",
            json!([]),
        )
        .await;
    assert!(
        smallest.as_f64().is_some_and(|h| h >= 10.0),
        "chart labels {smallest} px high"
    );
    assert_eq!(cut_off(&browser, ".health svg text").await, json!([]));
    browser.quit().await;
    service.assert_running();
}
