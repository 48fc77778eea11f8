//! Partner sinks: hyper servers on 127.0.0.1 that stand in for partner
//! endpoints and note when each webhook arrived.
//!
//! One server can host many endpoints (`/e/{endpoint}`); what it answers is
//! the same for all of them, so the isolation scenario puts its black holes
//! and its failing endpoints on servers of their own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::Clock;

/// How a sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkMode {
    /// 200 at once: a healthy partner.
    Ok,
    /// Reads the request and never answers: the attempt times out.
    BlackHole,
    /// 500 at once: a failing partner.
    Fail,
}

/// One webhook as received.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    /// The endpoint, from the path `/e/{endpoint}`.
    pub endpoint: u32,
    /// The benchmark event, from `order_id` `o{event}`; `None` for warm-up
    /// and baseline traffic.
    pub event: Option<u32>,
    /// When the body had been read, on the benchmark's [`Clock`].
    pub at_ns: u64,
}

/// A request kept as the sample the baseline replays.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

struct State {
    mode: SinkMode,
    clock: Clock,
    receipts: Mutex<Vec<Receipt>>,
    /// Requests seen, including warm-up and baseline ones.
    count: AtomicU64,
    sample: Mutex<Option<Sample>>,
}

/// A running sink server. Stops when dropped.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Sink {
    /// Starts a server answering as `mode` says.
    pub async fn start(mode: SinkMode, clock: Clock) -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            mode,
            clock,
            receipts: Mutex::new(Vec::new()),
            count: AtomicU64::new(0),
            sample: Mutex::new(None),
        });
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = server_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Sink {
            addr,
            state,
            server,
        })
    }

    /// How it answers.
    pub fn mode(&self) -> SinkMode {
        self.state.mode
    }

    /// The URL of endpoint `endpoint` on this server.
    pub fn url(&self, endpoint: usize) -> String {
        format!("http://{}/e/{endpoint}", self.addr)
    }

    /// Requests seen since the last [`Sink::reset`].
    pub fn count(&self) -> u64 {
        self.state.count.load(Ordering::Relaxed)
    }

    /// Takes the receipts noted so far.
    pub fn take_receipts(&self) -> Vec<Receipt> {
        std::mem::take(&mut *lock(&self.state.receipts))
    }

    /// Forgets what was received (the sample is kept).
    pub fn reset(&self) {
        lock(&self.state.receipts).clear();
        self.state.count.store(0, Ordering::Relaxed);
    }

    /// The first request received, headers and body.
    pub fn sample(&self) -> Option<Sample> {
        lock(&self.state.sample).clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let endpoint = req
        .uri()
        .path()
        .strip_prefix("/e/")
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX);
    let headers = (state.mode == SinkMode::Ok).then(|| req.headers().clone());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let at_ns = state.clock.now_ns();
    state.count.fetch_add(1, Ordering::Relaxed);
    if state.mode == SinkMode::Ok {
        let receipt = Receipt {
            endpoint,
            event: event_of(&body),
            at_ns,
        };
        lock(&state.receipts).push(receipt);
        let mut sample = lock(&state.sample);
        if sample.is_none() {
            *sample = headers.map(|headers| Sample {
                headers,
                body: body.clone(),
            });
        }
    }
    let status = match state.mode {
        SinkMode::Ok => StatusCode::OK,
        SinkMode::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        SinkMode::BlackHole => std::future::pending().await,
    };
    Ok(Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(b"ok")))
        .unwrap_or_default())
}

/// The benchmark event number in a v1 payload: `"order_id":"o{n}"`. A plain
/// byte search rather than a JSON parse, so the sink costs the machine as
/// little as possible.
pub fn event_of(body: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"\"order_id\":\"o";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = body[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&body[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::event_of;

    #[test]
    fn the_event_number_is_read_from_the_order_id() {
        assert_eq!(
            event_of(br#"{"event_id":"x","order_id":"o42","status":"C"}"#),
            Some(42)
        );
        assert_eq!(event_of(br#"{"order_id":"w3"}"#), None);
        assert_eq!(event_of(b"not json"), None);
    }
}
