//! Just enough of the W3C WebDriver protocol to drive headless chromium
//! through chromedriver: JSON over HTTP with the hyper client the crate
//! already has.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    base: String,
    http: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    /// Chrome's profile directory, removed when dropped.
    profile: PathBuf,
}

/// A browser session.
pub struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

/// Panics with a clear message when chromium or chromedriver is missing:
/// this test must not pass by skipping.
fn require(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: the portal's browser test needs Debian's chromium and \
         chromium-driver (apt-get install -y chromium chromium-driver; .ci/run installs them)"
    );
}

impl Driver {
    /// Starts chromedriver on a free port of 127.0.0.1 and waits until it
    /// is ready.
    pub async fn start(log: &Path) -> Driver {
        require("/usr/bin/chromedriver");
        require("/usr/bin/chromium");
        let port = free_port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that the browsers it starts go with
            // it even when a test fails before closing its session.
            .process_group(0)
            .spawn()
            .expect("start /usr/bin/chromedriver");
        let profile =
            std::env::temp_dir().join(format!("tw-chrome-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&profile).expect("chrome profile dir");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: Client::builder(TokioExecutor::new()).build_http(),
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = driver.call(Method::GET, "/status", None).await {
                if status["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    /// One WebDriver command. Errors are WebDriver's own `value.error`.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let resp = self.http.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", value["value"]));
        }
        Ok(value["value"].clone())
    }

    /// Opens headless chromium with a fresh profile.
    pub async fn session(&self) -> Session<'_> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", self.profile.display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
            // A page that comes slowly (a loaded machine) is waited for
            // rather than read too early.
            "timeouts": { "implicit": 5000, "pageLoad": 60000 },
        }}});
        let created = self
            .call(Method::POST, "/session", Some(caps))
            .await
            .unwrap_or_else(|e| panic!("chromium did not start under chromedriver: {e}"));
        Session {
            driver: self,
            id: created["sessionId"]
                .as_str()
                .expect("session id")
                .to_owned(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // `-s KILL --`: given `-KILL -16329`, procps kill signals the group
        // named by the first digit alone, here -1: every process there is.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Session<'_> {
    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.id);
        self.driver
            .call(method.clone(), &path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.cmd(Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element `css` selects, if any.
    pub async fn try_find(&self, css: &str) -> Option<String> {
        let path = format!("/session/{}/element", self.id);
        let found = self
            .driver
            .call(
                Method::POST,
                &path,
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .ok()?;
        found[ELEMENT].as_str().map(str::to_owned)
    }

    /// The element `css` selects; panics with the page's text if none.
    pub async fn find(&self, css: &str) -> String {
        match self.try_find(css).await {
            Some(id) => id,
            None => panic!(
                "no element {css:?} on {}:\n{}",
                self.url().await,
                self.text("body").await
            ),
        }
    }

    /// Clicks the element `css` selects and waits for the page it leads to.
    pub async fn click(&self, css: &str) {
        // The click may return before the next page has replaced this one,
        // so wait until this page's root element is gone.
        let before = self.try_find("html").await;
        self.click_in_place(css).await;
        if let Some(old) = before {
            self.wait_stale(&old, Duration::from_secs(20)).await;
        }
    }

    /// Clicks the element `css` selects on this page (a checkbox): no
    /// navigation is waited for.
    pub async fn click_in_place(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(
            Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Waits until `element` no longer belongs to the page (it navigated).
    async fn wait_stale(&self, element: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        let path = format!("/session/{}/element/{element}/name", self.id);
        while Instant::now() < deadline {
            match self.driver.call(Method::GET, &path, None).await {
                Err(e) if e.contains("stale element") || e.contains("no such element") => return,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Types `text` into the element `css` selects, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(
            Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.cmd(
            Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The rendered text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let Some(id) = self.try_find(css).await else {
            return String::new();
        };
        self.cmd(Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Resizes the window (e.g. to a phone's).
    pub async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Runs `script` in the page with `args`; returns its value.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let data = self.cmd(Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Reloads `url` until the text of `css` contains `want`; panics with
    /// the page's text after `timeout`.
    pub async fn wait_for_text(&self, url: &str, css: &str, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.goto(url).await;
            if self.text(css).await.contains(want) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{want:?} did not appear in {css:?} of {url}:\n{}",
                    self.text("body").await
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Waits, without reloading, until the text of `css` contains `want`;
    /// panics with the page's text after `timeout`. The text is read in one
    /// script call, so a part of the page swapped meanwhile cannot go stale
    /// between finding it and reading it.
    pub async fn wait_in_place(&self, css: &str, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let script = format!(
            "const e = document.querySelector({}); return e ? e.innerText : '';",
            Value::from(css)
        );
        while !self
            .execute(&script, json!([]))
            .await
            .as_str()
            .is_some_and(|t| t.contains(want))
        {
            if Instant::now() > deadline {
                panic!(
                    "{want:?} did not appear in {css:?} of {}:\n{}",
                    self.url().await,
                    self.text("body").await
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Closes the browser.
    pub async fn quit(self) {
        let _ = self
            .driver
            .call(Method::DELETE, &format!("/session/{}", self.id), None)
            .await;
    }
}
