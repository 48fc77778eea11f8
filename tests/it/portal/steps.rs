//! The steps every browser test of the portal takes: the real binary on a
//! port of its own and ready, an operator's sign-in link, and the partner
//! signed in through it in chromium.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::webdriver::{free_port, Session};
use crate::harness::{Service, TestEnv};

/// How long the service has to become ready.
const READY: Duration = Duration::from_secs(30);

/// One HTTP request to the service; the status and the body as JSON.
pub async fn request(method: &str, url: &str, token: Option<&str>) -> Option<(u16, Value)> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = client
        .request(req.body(Full::new(Bytes::new())).ok()?)
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// Where the browser tests leave their screenshots.
pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/portal-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// The service with its portal on a port of its own.
pub struct Portal {
    /// The running binary.
    pub service: Service,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The operator token it accepts.
    pub operator: String,
}

impl Portal {
    /// Starts the service with `operator` as its operator token and the
    /// `extra` settings, and waits until it answers ready.
    pub async fn start(env: &TestEnv, operator: &str, extra: &[(&str, &str)]) -> Portal {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut settings = vec![
            ("TRACKWIRE_HTTP__LISTEN", listen.as_str()),
            ("TRACKWIRE_HTTP__OPERATOR_TOKEN", operator),
        ];
        settings.extend_from_slice(extra);
        let service = env.service(&settings);
        let mut portal = Portal {
            service,
            base: format!("http://{listen}"),
            operator: operator.to_owned(),
        };
        portal.wait_ready().await;
        portal
    }

    /// Waits until `/health/ready` answers 200; panics with the log if the
    /// service exits or takes too long.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY;
        let ready = format!("{}/health/ready", self.base);
        while request("GET", &ready, None).await.map(|(s, _)| s) != Some(200) {
            self.service.assert_running();
            assert!(
                Instant::now() < deadline,
                "not ready:\n{}",
                self.service.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A sign-in link for `partner`, issued by the operator.
    pub async fn sign_in_link(&self, partner: &str) -> String {
        let (status, link) = request(
            "POST",
            &format!("{}/api/v1/partners/{partner}/portal-link", self.base),
            Some(&self.operator),
        )
        .await
        .expect("portal link");
        assert_eq!(status, 201, "{link}");
        let url = link["url"].as_str().expect("link url").to_owned();
        assert!(url.starts_with(&self.base), "{url}");
        url
    }

    /// Signs `partner` in in `browser`: opens a fresh link and presses
    /// Continue; `shot` is a screenshot of the sign-in page, if wanted.
    pub async fn sign_in(&self, browser: &Session<'_>, partner: &str, shot: Option<&Path>) {
        let link = self.sign_in_link(partner).await;
        browser.goto(&link).await;
        if let Some(path) = shot {
            browser.screenshot(path).await;
        }
        browser.click("#continue").await;
        let at = browser.url().await;
        assert!(
            at.contains("/portal/") && !at.contains("/portal/login"),
            "not signed in: {at}"
        );
    }

    /// `GET` of an API path as the operator: the status and the JSON body.
    pub async fn operator_get(&self, path: &str) -> (u16, Value) {
        request("GET", &format!("{}{path}", self.base), Some(&self.operator))
            .await
            .unwrap_or_else(|| panic!("GET {path} got no answer"))
    }
}

/// Whether the page fits the window's width (no sideways scrolling).
pub async fn fits_width(browser: &Session<'_>) -> bool {
    browser
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            serde_json::json!([]),
        )
        .await
        == Value::Bool(true)
}
