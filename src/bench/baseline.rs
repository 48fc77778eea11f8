//! The bare-HTTP baseline: a hyper client posting the very request trackwire
//! sent (headers and body, as a sink received it) to the same sink URLs, with
//! the same concurrency and, for fixed-rate steps, the same pacing. No Kafka,
//! no store, no signing: the ceiling this machine puts on any webhook sender.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_LENGTH, HOST};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::measure::Percentiles;
use super::sinks::Sample;
use super::Clock;

/// What the baseline posts.
pub struct Plan {
    /// Endpoint URLs, used round-robin.
    pub urls: Vec<String>,
    /// The request to replay.
    pub sample: Sample,
    /// Posts in all.
    pub posts: usize,
    /// Posts under way at once.
    pub concurrency: usize,
    /// Posts per second; `None` is as fast as possible.
    pub rate: Option<f64>,
}

/// What the baseline achieved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BaselineResult {
    /// Posts under way at once.
    pub concurrency: usize,
    /// Posts answered with 2xx.
    pub acked: usize,
    /// Posts that failed.
    pub failed: usize,
    /// From the first post to the last answer.
    pub duration_s: f64,
    /// Acknowledged posts per second.
    pub per_s: f64,
    /// Request latency, post to answer.
    pub latency_ms: Percentiles,
}

/// Runs the baseline.
pub async fn run(plan: Plan, clock: Clock) -> BaselineResult {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(plan.concurrency)
        .build(http);
    let mut headers = plan.sample.headers.clone();
    headers.remove(HOST);
    headers.remove(CONTENT_LENGTH);
    let shared = Arc::new((plan, headers, AtomicUsize::new(0)));
    let start = clock.now_ns();
    let workers: Vec<_> = (0..shared.0.concurrency.max(1))
        .map(|_| {
            let shared = shared.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let (plan, headers, next) = &*shared;
                let mut latencies = Vec::new();
                let mut failed = 0;
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= plan.posts {
                        break;
                    }
                    if let Some(rate) = plan.rate {
                        let due = start + (k as f64 * 1e9 / rate) as u64;
                        let now = clock.now_ns();
                        if due > now {
                            tokio::time::sleep(Duration::from_nanos(due - now)).await;
                        }
                    }
                    let mut req = hyper::Request::post(&plan.urls[k % plan.urls.len()])
                        .body(Full::new(plan.sample.body.clone()))
                        .expect("a request from a valid URL");
                    req.headers_mut().extend(headers.clone());
                    let sent = clock.now_ns();
                    let ok = match client.request(req).await {
                        Ok(res) => {
                            let ok = res.status().is_success();
                            ok && res.into_body().collect().await.is_ok()
                        }
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(clock.now_ns() - sent);
                    } else {
                        failed += 1;
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for w in workers {
        if let Ok((l, f)) = w.await {
            latencies.extend(l);
            failed += f;
        }
    }
    let duration_s = (clock.now_ns() - start) as f64 / 1e9;
    let acked = latencies.len();
    BaselineResult {
        concurrency: shared.0.concurrency,
        acked,
        failed,
        duration_s,
        per_s: acked as f64 / duration_s.max(1e-9),
        latency_ms: Percentiles::of(&mut latencies),
    }
}
