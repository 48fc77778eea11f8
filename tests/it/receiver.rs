//! A partner endpoint for tests: an HTTP server on 127.0.0.1 that records
//! every request and answers as told, changeable mid-test.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Behavior {
    /// Always this status.
    Status(u16),
    /// 500 for the next `n` requests, then 200.
    FailFirst(usize),
    /// Accept and never answer.
    BlackHole,
    /// 500 for every `n`th request, 200 otherwise.
    FailEvery(usize),
    /// 200 after this long.
    Delay(std::time::Duration),
    /// 500 after this long.
    SlowFail(std::time::Duration),
    /// `status` with `Retry-After: retry_after` for the next `times`
    /// requests, then 200.
    Throttle {
        /// 429 or 503, say.
        status: u16,
        /// The header's value.
        retry_after: &'static str,
        /// How many requests are answered so.
        times: usize,
    },
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
    /// The status answered (None for a black hole).
    pub answered: Option<u16>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    /// Answered with a 2xx.
    pub fn acked(&self) -> bool {
        self.answered.is_some_and(|s| (200..300).contains(&s))
    }
}

struct State {
    behavior: Mutex<Behavior>,
    count: std::sync::atomic::AtomicUsize,
    received: Mutex<Vec<Received>>,
    /// Requests being answered now, and the most there ever were.
    open: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

/// The receiver. Its server runs until the test's runtime ends.
#[derive(Clone)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Receiver {
    /// Starts a receiver answering as `behavior` says.
    pub async fn start(behavior: Behavior) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State {
            behavior: Mutex::new(behavior),
            count: std::sync::atomic::AtomicUsize::new(0),
            received: Mutex::new(Vec::new()),
            open: std::sync::atomic::AtomicUsize::new(0),
            peak: std::sync::atomic::AtomicUsize::new(0),
        });
        let server_state = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = server_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, state }
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Changes how it answers from now on.
    pub fn set(&self, behavior: Behavior) {
        *self.state.behavior.lock().unwrap() = behavior;
    }

    /// The most requests it was ever answering at once.
    pub fn peak_concurrency(&self) -> usize {
        self.state.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Starts the peak again from the requests open now.
    pub fn reset_peak(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.state.peak.store(self.state.open.load(SeqCst), SeqCst);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests answered with 2xx.
    pub fn acked(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(Received::acked)
            .collect()
    }

    /// Distinct `webhook-id`s acknowledged.
    pub fn acked_ids(&self) -> std::collections::HashSet<String> {
        self.acked()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect()
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    use std::sync::atomic::Ordering::SeqCst;
    let open = state.open.fetch_add(1, SeqCst) + 1;
    state.peak.fetch_max(open, SeqCst);
    let response = answer(&state, req).await;
    state.open.fetch_sub(1, SeqCst);
    response
}

async fn answer(
    state: &State,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let at = std::time::Instant::now();
    let n = state
        .count
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        + 1;
    let mut delay = None;
    let mut retry_after = None;
    let status = {
        let mut behavior = state.behavior.lock().unwrap();
        match *behavior {
            Behavior::Status(s) => Some(s),
            Behavior::FailFirst(0) => Some(200),
            Behavior::FailFirst(n) => {
                *behavior = Behavior::FailFirst(n - 1);
                Some(500)
            }
            Behavior::BlackHole => None,
            Behavior::FailEvery(k) if n % k == 0 => Some(500),
            Behavior::FailEvery(_) => Some(200),
            Behavior::Delay(d) => {
                delay = Some(d);
                Some(200)
            }
            Behavior::SlowFail(d) => {
                delay = Some(d);
                Some(500)
            }
            Behavior::Throttle { times: 0, .. } => Some(200),
            Behavior::Throttle {
                status,
                retry_after: value,
                times,
            } => {
                *behavior = Behavior::Throttle {
                    status,
                    retry_after: value,
                    times: times - 1,
                };
                retry_after = Some(value);
                Some(status)
            }
        }
    };
    state.received.lock().unwrap().push(Received {
        headers,
        body,
        answered: status,
        at,
    });
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    match status {
        Some(s) => {
            let mut response = Response::builder()
                .status(StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
            if let Some(value) = retry_after {
                response = response.header("retry-after", value);
            }
            Ok(response
                .body(Full::new(Bytes::from_static(b"ok")))
                .expect("response"))
        }
        None => std::future::pending().await,
    }
}
