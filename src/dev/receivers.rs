//! The demo partner's two receivers on 127.0.0.1: one that verifies every
//! signature and acknowledges, and one that fails now and then, so the
//! portal has retries, dead letters, an opening breaker and an at-risk flag
//! to show.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use super::DevError;
use crate::webhook::{self, SigningSecret};

/// The failing receiver's cycle: it answers for `OUTAGE_STARTS` into each
/// cycle, then refuses everything for `OUTAGE_LASTS` (long enough for the
/// breaker to open), then answers again.
const CYCLE: Duration = Duration::from_secs(120);
const OUTAGE_STARTS: Duration = Duration::from_secs(40);
const OUTAGE_LASTS: Duration = Duration::from_secs(30);

/// Whether received webhooks are printed; off until the tour banner is out,
/// so the banner is not buried.
#[derive(Debug, Clone, Default)]
pub struct Printing(Arc<AtomicBool>);

impl Printing {
    /// From now on, print.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Both receivers, running.
pub struct Receivers {
    handles: Vec<ServerHandle>,
}

impl Receivers {
    /// Starts the verifying receiver on `port` (`/webhooks`) and the failing
    /// one on `failing_port` (`/flaky`).
    pub fn start(
        port: u16,
        failing_port: u16,
        secrets: Vec<SigningSecret>,
        printing: Printing,
    ) -> Result<Self, DevError> {
        let verifying = Arc::new(Verifying {
            secrets,
            printing: printing.clone(),
        });
        let failing = Arc::new(Failing {
            started: Instant::now(),
            refused_once: Mutex::new(HashSet::new()),
            printing,
        });
        let servers = [
            serve(port, "/webhooks", move || {
                web::post().to({
                    let v = verifying.clone();
                    move |req: HttpRequest, body: web::Bytes| {
                        let v = v.clone();
                        async move { v.receive(&req, &body) }
                    }
                })
            })?,
            serve(failing_port, "/flaky", move || {
                web::post().to({
                    let f = failing.clone();
                    move |req: HttpRequest, body: web::Bytes| {
                        let f = f.clone();
                        async move { f.receive(&req, &body) }
                    }
                })
            })?,
        ];
        let handles = servers.iter().map(|s| s.handle()).collect();
        for server in servers {
            actix_rt::spawn(server);
        }
        Ok(Receivers { handles })
    }

    /// Stops both, letting requests under way finish.
    pub async fn stop(self) {
        for handle in self.handles {
            handle.stop(true).await;
        }
    }
}

fn serve(
    port: u16,
    path: &'static str,
    route: impl Fn() -> actix_web::Route + Send + Clone + 'static,
) -> Result<actix_web::dev::Server, DevError> {
    Ok(HttpServer::new(move || App::new().route(path, route()))
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", port))
        .map_err(|source| DevError::Listen { port, source })?
        .run())
}

/// What a webhook says, for the printed line.
struct Summary {
    id: String,
    event_type: String,
    order: String,
    status: String,
}

impl Summary {
    fn of(req: &HttpRequest, body: &[u8]) -> Self {
        let payload: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        // The first pointer that holds a string: v1 keys are flat, v2 nests them.
        let field = |pointers: &[&str]| {
            pointers
                .iter()
                .find_map(|p| payload.pointer(p).and_then(|v| v.as_str()))
                .unwrap_or("-")
                .to_owned()
        };
        Summary {
            id: header(req, webhook::WEBHOOK_ID).to_owned(),
            event_type: field(&["/event_type"]),
            order: field(&["/order_id", "/order/id"]),
            status: field(&["/status", "/order/status"]),
        }
    }

    fn print(&self, receiver: &str, outcome: &str) {
        println!(
            "  {receiver:<9} {:<17} {:<9} {:<17} {outcome}",
            self.event_type, self.order, self.status
        );
    }
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> &'r str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Verifies the signature and acknowledges what verifies.
struct Verifying {
    secrets: Vec<SigningSecret>,
    printing: Printing,
}

impl Verifying {
    fn receive(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let summary = Summary::of(req, body);
        let timestamp: i64 = header(req, webhook::WEBHOOK_TIMESTAMP).parse().unwrap_or(0);
        let signature = header(req, webhook::WEBHOOK_SIGNATURE);
        let now = chrono::Utc::now().timestamp();
        let verified = self
            .secrets
            .iter()
            .any(|s| webhook::verify(s, &summary.id, timestamp, body, signature, now, 300).is_ok());
        if self.printing.on() {
            let outcome = if verified {
                "signature ok, 200"
            } else {
                "signature INVALID, 401"
            };
            summary.print("verified", outcome);
        }
        if verified {
            HttpResponse::Ok().finish()
        } else {
            HttpResponse::Unauthorized().finish()
        }
    }
}

/// Fails now and then: during its outage, always; the first event of one
/// order in ten (ORD-1002, ORD-1012, …) every time, so it ends as a dead
/// letter; and one delivery in six on its first attempt only, so a retry
/// gets it through (decided by the webhook id, which retries keep).
struct Failing {
    started: Instant,
    refused_once: Mutex<HashSet<String>>,
    printing: Printing,
}

impl Failing {
    fn receive(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let summary = Summary::of(req, body);
        let (status, why) = self.answer(&summary);
        if self.printing.on() {
            summary.print("flaky", &format!("{why}, {}", status.as_u16()));
        }
        HttpResponse::build(status).finish()
    }

    fn answer(&self, webhook: &Summary) -> (actix_web::http::StatusCode, &'static str) {
        use actix_web::http::StatusCode;
        let into_cycle = self.started.elapsed().as_secs() % CYCLE.as_secs();
        let outage = OUTAGE_STARTS.as_secs()..(OUTAGE_STARTS + OUTAGE_LASTS).as_secs();
        if outage.contains(&into_cycle) {
            return (StatusCode::SERVICE_UNAVAILABLE, "outage");
        }
        let order_number: u64 = webhook
            .order
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap_or(0);
        if order_number % 10 == 2 && webhook.status == "CONFIRMED" {
            (StatusCode::INTERNAL_SERVER_ERROR, "always refused")
        } else if fnv(&webhook.id) % 6 == 0 && self.first_time(&webhook.id) {
            (StatusCode::BAD_GATEWAY, "refused once")
        } else {
            (StatusCode::OK, "accepted")
        }
    }

    fn first_time(&self, id: &str) -> bool {
        let mut seen = self
            .refused_once
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.insert(id.to_owned())
    }
}

/// A stable hash of the webhook id (the standard library's is seeded per
/// process).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
