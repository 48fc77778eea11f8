//! One HTTP attempt: sign, POST, classify the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

use super::ssrf::{BlockedAddress, GuardedResolver, SsrfGuard};
use crate::schema::{Deprecation, EventType, SchemaVersion};
use crate::webhook::{self, SigningSecret};

/// Why an attempt did not count as an acknowledgement. Only a 2xx answer
/// within the timeout is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The endpoint answered with a status outside 2xx.
    #[error("endpoint answered HTTP {0}")]
    Status(u16),
    /// No complete answer within the attempt timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The TCP connection could not be made (refused, unreachable, DNS).
    #[error("could not connect: {0}")]
    Connect(String),
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The connection broke during the exchange.
    #[error("request failed: {0}")]
    Request(String),
    /// The stored URL cannot be requested.
    #[error("invalid endpoint URL: {0}")]
    InvalidUrl(String),
    /// The endpoint is, or resolves to, an internal address.
    #[error("refused: {0}")]
    Blocked(BlockedAddress),
}

impl Failure {
    /// A stable code for the attempt log and metric labels.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Status(_) => "http_status",
            Failure::Timeout(_) => "timeout",
            Failure::Connect(_) => "connect",
            Failure::Tls(_) => "tls",
            Failure::Request(_) => "request",
            Failure::InvalidUrl(_) => "invalid_url",
            Failure::Blocked(_) => "blocked",
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// When the request started.
    pub started_at: DateTime<Utc>,
    /// From the start to the answer (or the failure).
    pub latency: Duration,
    /// The status, when an answer arrived.
    pub status: Option<u16>,
    /// The start of the answer's body, as text.
    pub excerpt: Option<String>,
    /// The answer's headers (the first [`MAX_HEADERS`]), for the test-event
    /// view; empty when no answer arrived.
    pub headers: Vec<(String, String)>,
    /// `None` for an acknowledgement.
    pub failure: Option<Failure>,
}

impl AttemptResult {
    /// True for a 2xx within the timeout.
    pub fn acked(&self) -> bool {
        self.failure.is_none()
    }
}

/// What a request carries besides the body.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The event id: `webhook-id`, the same on every attempt.
    pub event_id: &'a str,
    /// The event type header.
    pub event_type: EventType,
    /// The schema version header.
    pub schema_version: SchemaVersion,
    /// Set when the version is deprecated: adds the `Deprecation` and
    /// `Sunset` headers.
    pub deprecation: Option<Deprecation>,
    /// Secrets to sign with; several during a rotation.
    pub secrets: &'a [SigningSecret],
}

/// A pooled HTTP(S) client for partner endpoints. Cheap to clone; connections
/// to one endpoint are reused across attempts.
#[derive(Clone)]
pub struct WebhookClient {
    inner: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    guard: SsrfGuard,
    timeout: Duration,
    excerpt_bytes: usize,
    /// Attempts of the whole process at once, when limited.
    slots: Option<Arc<Semaphore>>,
}

/// Response headers kept per attempt: enough to debug a receiver, bounded so
/// that a misbehaving one cannot make us hold megabytes.
pub const MAX_HEADERS: usize = 32;

/// RFC 9745: when the payload version this endpoint is pinned to was deprecated.
const DEPRECATION: &str = "deprecation";
/// RFC 8594: when that version stops being served.
const SUNSET: &str = "sunset";

const USER_AGENT_VALUE: &str = concat!("trackwire/", env!("CARGO_PKG_VERSION"));

impl WebhookClient {
    /// Builds a client. Certificates are verified against the system's
    /// roots; internal addresses are refused unless `guard` allows them.
    pub fn new(
        guard: SsrfGuard,
        connect_timeout: Duration,
        timeout: Duration,
        excerpt_bytes: usize,
    ) -> Self {
        let mut http = HttpConnector::new_with_resolver(guard.resolver());
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_native_roots() {
            Ok(b) => b,
            Err(error) => {
                tracing::warn!(%error, "no system root certificates found; https endpoints will fail");
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(rustls_config_without_roots())
            }
        };
        // Plain http is refused when endpoints are registered, except for
        // hosts on the development allowlist.
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        WebhookClient {
            inner,
            guard,
            timeout,
            excerpt_bytes,
            slots: None,
        }
    }

    /// Makes every attempt take one of `slots` first, shared with other
    /// clients. An attempt's timeout and latency start once it has one.
    pub fn with_slots(mut self, slots: Arc<Semaphore>) -> Self {
        self.slots = Some(slots);
        self
    }

    /// Signs and POSTs `body` to `url`. Never fails: every outcome is an
    /// [`AttemptResult`].
    pub async fn post(&self, url: &str, envelope: &Envelope<'_>, body: Bytes) -> AttemptResult {
        // The semaphore is never closed, so acquiring only waits.
        let _slot = match &self.slots {
            Some(slots) => slots.acquire().await.ok(),
            None => None,
        };
        let started_at = Utc::now();
        let start = Instant::now();
        let result =
            tokio::time::timeout(self.timeout, self.exchange(url, envelope, body, started_at))
                .await;
        let latency = start.elapsed();
        let (status, excerpt, headers, failure) = match result {
            Err(_) => (None, None, Vec::new(), Some(Failure::Timeout(self.timeout))),
            Ok(Err(failure)) => (None, None, Vec::new(), Some(failure)),
            Ok(Ok(answer)) => {
                let failure = (!(200..300).contains(&answer.status))
                    .then_some(Failure::Status(answer.status));
                (Some(answer.status), answer.excerpt, answer.headers, failure)
            }
        };
        AttemptResult {
            started_at,
            latency,
            status,
            excerpt,
            headers,
            failure,
        }
    }

    async fn exchange(
        &self,
        url: &str,
        envelope: &Envelope<'_>,
        body: Bytes,
        started_at: DateTime<Utc>,
    ) -> Result<Answer, Failure> {
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| Failure::InvalidUrl(e.to_string()))?;
        // Literal addresses are not resolved, so they are checked here; names
        // are checked by the resolver on every connection.
        self.guard
            .check_literal(uri.host().unwrap_or_default())
            .map_err(Failure::Blocked)?;
        let timestamp = started_at.timestamp();
        let signature =
            webhook::signature_header(envelope.secrets, envelope.event_id, timestamp, &body);
        let header =
            |v: &str| HeaderValue::from_str(v).map_err(|e| Failure::InvalidUrl(e.to_string()));
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .header(webhook::WEBHOOK_ID, header(envelope.event_id)?)
            .header(webhook::WEBHOOK_TIMESTAMP, HeaderValue::from(timestamp))
            .header(webhook::WEBHOOK_SIGNATURE, header(&signature)?)
            .header(
                webhook::EVENT_TYPE_HEADER,
                HeaderValue::from_static(envelope.event_type.as_str()),
            )
            .header(
                webhook::SCHEMA_VERSION_HEADER,
                HeaderValue::from_static(envelope.schema_version.as_str()),
            );
        if let Some(deprecation) = &envelope.deprecation {
            request = request
                .header(DEPRECATION, header(&deprecation.deprecation_header())?)
                .header(SUNSET, header(&deprecation.sunset_header())?);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Failure::InvalidUrl(e.to_string()))?;
        let response = self.inner.request(request).await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .take(MAX_HEADERS)
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        // Only the start of the body is kept; a partner sending megabytes
        // must not cost us memory.
        let excerpt = match Limited::new(response.into_body(), self.excerpt_bytes.max(1))
            .collect()
            .await
        {
            Ok(collected) => Some(collected.to_bytes()),
            Err(_) => None,
        };
        Ok(Answer {
            status,
            headers,
            excerpt: excerpt
                .filter(|b| !b.is_empty())
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        })
    }
}

/// What came back from the endpoint.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    excerpt: Option<String>,
}

fn rustls_config_without_roots() -> rustls::ClientConfig {
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// Sorts a client error into connect, TLS or request failures by walking its
/// source chain.
fn classify(error: hyper_util::client::legacy::Error) -> Failure {
    let chain = {
        let mut parts = vec![error.to_string()];
        let mut source = std::error::Error::source(&error);
        while let Some(s) = source {
            parts.push(s.to_string());
            source = s.source();
        }
        parts.join(": ")
    };
    let mut tls = false;
    let mut blocked = None;
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        // Errors from rustls and from our resolver travel inside io::Error,
        // whose `source` skips them.
        let inner = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        tls |= s.is::<rustls::Error>() || inner.is_some_and(|i| i.is::<rustls::Error>());
        if let Some(b) = inner.and_then(|i| i.downcast_ref::<BlockedAddress>()) {
            blocked = Some(b.clone());
        }
        source = s.source();
    }
    if let Some(b) = blocked {
        Failure::Blocked(b)
    } else if tls {
        Failure::Tls(chain)
    } else if error.is_connect() {
        Failure::Connect(chain)
    } else {
        Failure::Request(chain)
    }
}
