//! A step with traffic: its sinks, the trackwire it launches, the
//! producer's pace, waiting until every healthy delivery is durable, and the
//! bare-HTTP baseline on the same sinks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::baseline;
use super::layout::{register, Layout};
use super::measure::{self, Launch, Percentiles, Tracked};
use super::producer::{self, CdcProducer};
use super::report::StepResult;
use super::sinks::{Receipt, Sink, SinkMode};
use super::{Bench, BenchError, Clock, Kafka, StepEnv};

/// One step with traffic.
pub(super) struct Traffic {
    pub(super) scenario: &'static str,
    pub(super) label: String,
    pub(super) layout: Layout,
    pub(super) events: usize,
    pub(super) rate: Option<f64>,
    pub(super) kafka: Kafka,
}

/// The sinks of a layout and each endpoint's URL.
pub(super) struct Sinks {
    all: Vec<Sink>,
    pub(super) urls: Vec<String>,
}

impl Sinks {
    pub(super) async fn start(
        layout: &Layout,
        servers: usize,
        clock: Clock,
    ) -> Result<Self, BenchError> {
        let io = |e: std::io::Error| BenchError::new(format!("sink: {e}"));
        let mut all = Vec::new();
        for _ in 0..servers.clamp(1, layout.healthy().max(1)) {
            all.push(Sink::start(SinkMode::Ok, clock).await.map_err(io)?);
        }
        let healthy_servers = all.len();
        // Each kind of sick endpoint gets a server of its own.
        let server_of = |mode: SinkMode| layout.modes().any(|m| m == mode);
        let black_hole = server_of(SinkMode::BlackHole).then_some(all.len());
        if black_hole.is_some() {
            all.push(Sink::start(SinkMode::BlackHole, clock).await.map_err(io)?);
        }
        let fail = server_of(SinkMode::Fail).then_some(all.len());
        if fail.is_some() {
            all.push(Sink::start(SinkMode::Fail, clock).await.map_err(io)?);
        }
        let urls = layout
            .modes()
            .enumerate()
            .map(|(e, mode)| {
                let server = match mode {
                    SinkMode::Ok => e % healthy_servers,
                    SinkMode::BlackHole => black_hole.unwrap_or(0),
                    SinkMode::Fail => fail.unwrap_or(0),
                };
                all[server].url(e)
            })
            .collect();
        Ok(Sinks { all, urls })
    }

    fn healthy(&self) -> impl Iterator<Item = &Sink> {
        self.all.iter().filter(|s| s.mode() == SinkMode::Ok)
    }

    pub(super) fn received(&self) -> u64 {
        self.healthy().map(Sink::count).sum()
    }

    pub(super) fn reset(&self) {
        self.all.iter().for_each(Sink::reset);
    }

    pub(super) fn receipts(&self) -> Vec<Receipt> {
        self.healthy().flat_map(Sink::take_receipts).collect()
    }

    fn healthy_urls(&self, layout: &Layout) -> Vec<String> {
        layout
            .modes()
            .zip(&self.urls)
            .filter(|(m, _)| *m == SinkMode::Ok)
            .map(|(_, u)| u.clone())
            .collect()
    }
}

pub(super) fn launch<'a>(
    bench: &'a Bench,
    env: &'a StepEnv,
    http: &'a str,
    n: usize,
    name: &str,
) -> Launch<'a> {
    Launch {
        binary: &bench.binary,
        db_url: &env.db_url,
        brokers: &env.brokers,
        topics: (&env.topics.0, &env.topics.1),
        group: &env.group,
        mock: env.on_mock(),
        extra: &[],
        http_listen: http,
        log: bench
            .args
            .out
            .join("logs")
            .join(format!("{n:02}-{name}.log")),
    }
}

/// Waits until `done` holds, printing a progress line every second; false
/// when `timeout` passed first.
pub(super) async fn progress(
    tracked: &mut Tracked,
    timeout: Duration,
    mut line: impl FnMut() -> (bool, String),
) -> Result<bool, BenchError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut next_line = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (done, text) = line();
        if done {
            eprintln!("\r\x1b[2K  {text}");
            return Ok(true);
        }
        tracked.check_running()?;
        let now = tokio::time::Instant::now();
        if now >= deadline {
            eprintln!("\r\x1b[2K  {text} (timed out)");
            return Ok(false);
        }
        if now >= next_line {
            eprint!("\r\x1b[2K  {text}");
            next_line = now + Duration::from_secs(1);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One step with traffic: warm up, produce, wait for every healthy delivery
/// to be received and durable, then measure the baseline on the same sinks.
pub(super) async fn traffic(
    bench: &Bench,
    env: &StepEnv,
    t: &Traffic,
    n: usize,
) -> Result<StepResult, BenchError> {
    let clock = bench.clock;
    let layout = &t.layout;
    let sinks = Sinks::start(layout, bench.args.sinks.into(), clock).await?;
    register(env, layout, &sinks.urls).await?;
    let producer = Arc::new(CdcProducer::new(&env.brokers, &env.topics.0, clock)?);
    let mut tracked = Tracked::start(launch(bench, env, "127.0.0.1:0", n, t.scenario))?;

    warm_up(&producer, &sinks, layout, &mut tracked).await?;
    sinks.reset();

    let cpu0 = measure::sample(tracked.pid());
    let expected = layout.healthy_deliveries(t.events);
    let plan = producer::Plan {
        partners: layout.partner_ids(),
        count: t.events,
        rate: t.rate,
        prefix: 'o',
    };
    let produce = {
        let producer = producer.clone();
        tokio::spawn(async move { producer.run(&plan).await })
    };
    let started = clock.now_ns();
    let budget = t.rate.map_or(0.0, |r| t.events as f64 / r) + 60.0 + expected as f64 / 500.0;
    progress(&mut tracked, Duration::from_secs_f64(budget), || {
        let got = sinks.received() as usize;
        let secs = (clock.now_ns() - started) as f64 / 1e9;
        let produced = producer.produced.load(std::sync::atomic::Ordering::Relaxed);
        (
            got >= expected,
            format!(
                "{} / {}: produced {produced}/{}, received {got}/{expected} ({:.0}/s)",
                t.scenario,
                t.label,
                t.events,
                got as f64 / secs.max(1e-3)
            ),
        )
    })
    .await?;
    let sent_at = produce
        .await
        .map_err(|e| BenchError::new(format!("producer: {e}")))??;
    let delivered = wait_durable(&env.db, expected as i64).await?;
    let durable_at = clock.now_ns();
    let cpu1 = measure::sample(tracked.pid());
    let attempt_ms = measure::attempt_latency(&env.db).await?;
    let stages = measure::stages(&env.db).await?;
    drop(tracked);

    let receipts = sinks.receipts();
    let mut result = summarize(t, expected, delivered, &receipts, &sent_at, durable_at);
    result.attempt_ms = attempt_ms;
    result.stages_ms = stages;
    result.cpu_s = cpu1.cpu_s - cpu0.cpu_s;
    result.cpu_percent = 100.0 * result.cpu_s / ((durable_at - started) as f64 / 1e9).max(1e-9);
    result.peak_rss_mib = cpu1.peak_rss_mib;
    with_baseline(bench, &sinks, t, expected, &mut result).await;
    Ok(result)
}

/// Warm-up: one event per partner reaches every endpoint, which proves the
/// consumer has joined and opens the connections.
async fn warm_up(
    producer: &CdcProducer,
    sinks: &Sinks,
    layout: &Layout,
    tracked: &mut Tracked,
) -> Result<(), BenchError> {
    let warm = producer::Plan {
        partners: layout.partner_ids(),
        count: layout.partners(),
        rate: None,
        prefix: 'w',
    };
    producer.run(&warm).await?;
    let want = layout.healthy() as u64;
    let warmed = progress(tracked, Duration::from_secs(90), || {
        let got = sinks.received();
        (
            got >= want,
            format!("warm-up: {got}/{want} endpoints reached"),
        )
    })
    .await?;
    if !warmed {
        return Err(BenchError::new(format!(
            "trackwire did not deliver the warm-up events; see {}",
            tracked.log.display()
        )));
    }
    Ok(())
}

/// Polls the store until `expected` measured deliveries are durable (or 30 s
/// pass); returns how many are.
pub(super) async fn wait_durable(
    db: &tokio_postgres::Client,
    expected: i64,
) -> Result<i64, BenchError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = measure::delivered(db).await?;
        if n >= expected || tokio::time::Instant::now() >= deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Latency and rates from what the sinks received.
pub(super) fn summarize(
    t: &Traffic,
    expected: usize,
    delivered: i64,
    receipts: &[Receipt],
    sent_at: &[u64],
    durable_at: u64,
) -> StepResult {
    let mut seen = HashSet::new();
    let mut latencies = Vec::with_capacity(receipts.len());
    let mut last = 0;
    for r in receipts {
        let Some(sent) = r.event.and_then(|e| sent_at.get(e as usize)) else {
            continue;
        };
        if seen.insert((r.endpoint, r.event)) {
            latencies.push(r.at_ns.saturating_sub(*sent));
            last = last.max(r.at_ns);
        }
    }
    let first = sent_at.first().copied().unwrap_or(0);
    let duration_s = durable_at.saturating_sub(first) as f64 / 1e9;
    let received = latencies.len();
    StepResult {
        scenario: t.scenario.into(),
        label: t.label.clone(),
        partners: t.layout.partners(),
        endpoints: t.layout.endpoints(),
        healthy_endpoints: t.layout.healthy(),
        events: t.events,
        rate: t.rate,
        expected_deliveries: expected,
        delivered,
        received,
        duplicates: receipts.len().saturating_sub(received),
        duration_s,
        deliveries_per_s: delivered as f64 / duration_s.max(1e-9),
        receipts_per_s: received as f64 / (last.saturating_sub(first) as f64 / 1e9).max(1e-9),
        latency_ms: Percentiles::of(&mut latencies),
        attempt_ms: Percentiles::default(),
        stages_ms: Default::default(),
        cpu_s: 0.0,
        cpu_percent: 0.0,
        peak_rss_mib: 0.0,
        baseline: None,
        throughput_ratio: None,
        p99_ratio: None,
    }
}

/// The bare-HTTP baseline: the same request, the same healthy URLs, the same
/// number of posts, the concurrency trackwire may use but at most 512, and for
/// fixed-rate steps the same pace. The cap is the bare client's best on this
/// kind of machine (more connections slow it down: 65,000/s at 512 against
/// 43,000/s at 1,600 in one run), so the baseline stays the limit of bare HTTP.
async fn with_baseline(
    bench: &Bench,
    sinks: &Sinks,
    t: &Traffic,
    expected: usize,
    result: &mut StepResult,
) {
    let Some(sample) = sinks.healthy().find_map(Sink::sample) else {
        return;
    };
    sinks.reset();
    let urls = sinks.healthy_urls(&t.layout);
    let delivery = &bench.config.delivery;
    let concurrency = (urls.len() * delivery.max_in_flight)
        .min(delivery.max_attempts_in_flight)
        .min(expected)
        .clamp(1, 512);
    let rate = t.rate.map(|r| r * expected as f64 / t.events.max(1) as f64);
    let b = baseline::run(
        baseline::Plan {
            urls,
            sample,
            posts: expected,
            concurrency,
            rate,
        },
        bench.clock,
    )
    .await;
    eprintln!(
        "  baseline: {:.0}/s at concurrency {}, p99 {:.2} ms",
        b.per_s, b.concurrency, b.latency_ms.p99
    );
    result.throughput_ratio = Some(result.deliveries_per_s / b.per_s.max(1e-9));
    result.p99_ratio = Some(result.latency_ms.p99 / b.latency_ms.p99.max(1e-9));
    result.baseline = Some(b);
}

pub(super) fn free_port() -> Result<String, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BenchError::new(format!("no free port: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::new(format!("no free port: {e}")))?;
    Ok(addr.to_string())
}
