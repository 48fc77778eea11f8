//! `trackwire demo` as a newcomer runs it: the tour banner comes up, every
//! link in it answers (the sign-in link signs in), dependencies keep their
//! start-up lines to themselves, and Ctrl-C stops everything it started.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::TestEnv;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// An HTTP answer: status, `Set-Cookie` values, body.
struct Answer {
    status: u16,
    cookies: Vec<String>,
    body: String,
}

impl Answer {
    /// The value the answer sets cookie `name` to.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find_map(|c| {
            let pair = c.split(';').next()?;
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| v.to_owned())
        })
    }
}

/// One HTTP/1.0 request to an `http://host:port/path` URL.
async fn request(method: &str, url: &str, cookie: &str, form: &str) -> Answer {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n");
    if !cookie.is_empty() {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if !form.is_empty() {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{form}", form.len()));
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .unwrap_or_else(|_| panic!("{url} did not answer within 10 s"))
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    Answer {
        status,
        cookies,
        body: body.to_owned(),
    }
}

/// The value of the hidden form field `name` in `html`.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let rest = &html[html.find(&marker)? + marker.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The demo, started on its own database and ports.
struct Demo {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: std::path::PathBuf,
}

impl Demo {
    fn start(env: &TestEnv) -> Demo {
        let stderr = env.dir.join("demo.stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_trackwire"))
            .args(["demo", "--every", "0.5"])
            .arg("--receiver-port")
            .arg(free_port().to_string())
            .arg("--failing-receiver-port")
            .arg(free_port().to_string())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TRACKWIRE_DATABASE__URL", &env.db_url)
            .env(
                "TRACKWIRE_KAFKA__GROUP_ID",
                format!("demo-{}", rand::random::<u32>()),
            )
            .env(
                "TRACKWIRE_HTTP__LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            .env(
                "TRACKWIRE_METRICS__LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start trackwire demo");
        let out = child.stdout.take().expect("stdout");
        let (tx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Demo {
            child,
            stdout,
            stderr,
        }
    }

    /// The banner's lines, up to and including the Ctrl-C line.
    fn banner(&self, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains("Ctrl-C") => {
                    lines.push(line);
                    return lines;
                }
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        panic!(
            "no tour banner within {within:?}: {lines:?}\n{}",
            self.logs()
        );
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Ctrl-C, as a terminal sends it; whether the demo exited cleanly in
    /// time.
    fn interrupt(&mut self, within: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-s", "INT", "--", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The link labelled `label` in the banner.
fn link(banner: &[String], label: &str) -> String {
    banner
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label} link in {banner:#?}"))
        .to_owned()
}

/// Opens the sign-in link and presses its button, as a browser would; the
/// session cookie.
async fn sign_in(url: &str) -> String {
    let page = request("GET", url, "", "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.cookie("tw_login").expect("sign-in CSRF cookie");
    let token = field(&page.body, "token").expect("the link's token in the form");
    let form = format!("login_csrf={csrf}&token={token}");
    let base = &url[..url.find("/portal/").expect("portal URL")];
    let signed_in = request(
        "POST",
        &format!("{base}/portal/login"),
        &format!("tw_login={csrf}"),
        &form,
    )
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = signed_in.cookie("tw_session").expect("session cookie");
    format!("tw_session={session}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_banner_links_all_answer_and_ctrl_c_stops_it() {
    let env = TestEnv::new(1).await;
    let mut demo = Demo::start(&env);
    let banner = demo.banner(Duration::from_secs(90));

    let session = sign_in(&link(&banner, "sign in")).await;
    for label in ["event log", "health", "orders"] {
        let url = link(&banner, label);
        let page = request("GET", &url, &session, "").await;
        assert_eq!(page.status, 200, "{label} {url}: {}", page.body);
        assert!(
            page.body.contains("Demo Shop"),
            "{label} is the demo partner's"
        );
    }
    let tracking = request("GET", &link(&banner, "tracking"), "", "").await;
    assert_eq!(tracking.status, 200, "{}", tracking.body);
    assert!(tracking.body.contains("Demo Shop"), "{}", tracking.body);
    let metrics = request("GET", &link(&banner, "metrics"), "", "").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("trackwire_"), "{}", metrics.body);
    let spec = request("GET", &link(&banner, "openapi"), "", "").await;
    assert_eq!(spec.status, 200);
    assert!(spec.body.contains("\"openapi\""), "{}", spec.body);
    let ready = request("GET", &link(&banner, "ready"), "", "").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let reused = request("GET", &link(&banner, "sign in"), "", "").await;
    assert!(
        field(&reused.body, "token").is_none(),
        "the sign-in link is single use: {}",
        reused.body
    );

    assert!(
        demo.interrupt(Duration::from_secs(30)),
        "Ctrl-C stops the demo cleanly:\n{}",
        demo.logs()
    );
    let logs = demo.logs();
    for noise in ["actix_server", "librdkafka", "rdkafka::"] {
        assert!(!logs.contains(noise), "{noise} stays quiet:\n{logs}");
    }
    assert!(logs.contains("trackwire running"), "{logs}");
}
