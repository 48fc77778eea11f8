//! The Prometheus exporter: a recorder for the `metrics` facade, and
//! `/metrics` served by actix-web on its own listener (`metrics.listen`).
//!
//! The crate's own HTTP listener is left out (no default features): serving
//! from actix-web keeps one HTTP stack and lets tests bind port 0.

use std::net::TcpListener;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use super::catalogue::{
    Kind, ATTEMPT_BUCKETS, ATTEMPT_DURATION, BUILD_INFO, CATALOGUE, END_TO_END, END_TO_END_BUCKETS,
};

/// How often histogram samples are folded into their buckets when nobody
/// scrapes; this bounds the memory they hold.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The Prometheus text format version served.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exporter could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    /// Histogram buckets were rejected (an empty list).
    #[error("invalid histogram buckets: {0}")]
    Buckets(#[from] metrics_exporter_prometheus::BuildError),
    /// Some other `metrics` recorder was installed first in this process.
    #[error("another metrics recorder is already installed in this process")]
    OtherRecorder,
    /// The upkeep thread could not be started.
    #[error("cannot start the metrics upkeep thread: {0}")]
    Upkeep(std::io::Error),
}

/// The installed recorder's handle: one per process, shared by every
/// service instance started in it (tests start several).
static INSTALLED: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// A recorder with trackwire's histogram buckets, not installed anywhere.
/// Tests use it with `metrics::with_local_recorder`.
pub fn recorder() -> Result<PrometheusRecorder, ExporterError> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(ATTEMPT_DURATION.name.into()), ATTEMPT_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(END_TO_END.name.into()), END_TO_END_BUCKETS)?;
    Ok(builder.build_recorder())
}

/// Installs the recorder as the process's global one (once; later calls
/// return the same handle), describes every catalogued metric and starts the
/// upkeep thread.
pub fn install() -> Result<PrometheusHandle, ExporterError> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = &*installed {
        return Ok(handle.clone());
    }
    let recorder = recorder()?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|_| ExporterError::OtherRecorder)?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            upkeep.run_upkeep();
        })
        .map_err(ExporterError::Upkeep)?;
    *installed = Some(handle.clone());
    Ok(handle)
}

/// Registers `# HELP` text for every catalogued metric, starts the counters
/// without labels at 0 and sets [`BUILD_INFO`], on whichever recorder is
/// current.
pub fn describe() {
    for m in CATALOGUE {
        match m.kind {
            // A counter without labels starts at 0, so `rate()` and
            // `increase()` have a baseline from the first scrape on.
            Kind::Counter if m.labels.is_empty() => {
                metrics::describe_counter!(m.name, m.help);
                metrics::counter!(m.name).increment(0);
            }
            Kind::Counter => metrics::describe_counter!(m.name, m.help),
            Kind::Gauge => metrics::describe_gauge!(m.name, m.help),
            Kind::Histogram => metrics::describe_histogram!(m.name, m.help),
        }
    }
    metrics::gauge!(BUILD_INFO.name, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Serves `GET /metrics` from `handle` on a listener the caller bound.
pub fn server(listener: TcpListener, handle: PrometheusHandle) -> std::io::Result<Server> {
    let data = web::Data::new(handle);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

async fn scrape(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(handle.render())
}
