//! The scenarios, and running one step of them.
//!
//! - `steady`: a fixed rate (200 and 1,000 events/s), for latency.
//! - `max`: everything produced at once, for throughput.
//! - `isolation`: 10% of endpoints black holes and 10% answering 500,
//!   against the same layout all healthy.
//! - `fanout`: 1, 10, 100 and 1,000 endpoints (5 per partner at most, so
//!   more endpoints means more partners).
//! - `idle-scale`: 10,000 and 100,000 endpoints, no traffic.
//! - `cdc`: MariaDB status UPDATEs at 200/s through Debezium and a real
//!   broker (the `cdc` module).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::baseline;
use super::measure::{self, Launch, Percentiles, Tracked};
use super::plan::{kafkas, plan, Step};
use super::producer::{self, CdcProducer};
use super::report::{IdleResult, Isolation, Machine, Report, StepResult};
use super::sinks::{Receipt, Sink, SinkMode};
use super::{Bench, BenchArgs, BenchError, Clock, Kafka, StepEnv};
use crate::config::Config;
use crate::schema::EventType;
use crate::webhook::SigningSecret;

/// Endpoints per partner allowed by the store.
const PER_PARTNER: usize = crate::store::endpoints::MAX_PER_PARTNER;

/// Who receives what: per partner, how each of its endpoints answers.
#[derive(Debug, Clone)]
pub struct Layout(Vec<Vec<SinkMode>>);

impl Layout {
    /// `endpoints` healthy endpoints over `partners` partners, as evenly as
    /// the per-partner limit allows.
    pub(super) fn even(partners: usize, endpoints: usize) -> Result<Self, BenchError> {
        let partners = partners.max(1);
        if endpoints < partners || endpoints > partners * PER_PARTNER {
            return Err(BenchError::new(format!(
                "{endpoints} endpoints over {partners} partners: each partner needs 1 to {PER_PARTNER}"
            )));
        }
        Ok(Layout(
            (0..partners)
                .map(|p| {
                    vec![SinkMode::Ok; endpoints / partners + usize::from(p < endpoints % partners)]
                })
                .collect(),
        ))
    }

    /// `endpoints` endpoints, 5 per partner (the last one may have fewer).
    pub(super) fn packed(endpoints: usize) -> Self {
        let partners = endpoints.div_ceil(PER_PARTNER).max(1);
        Layout::even(partners, endpoints.max(1)).expect("packed layouts fit")
    }

    /// Makes 10% of the endpoints black holes and 10% failing, spread over
    /// the partners.
    pub(super) fn with_sick(mut self) -> Self {
        let mut n = 0;
        for modes in &mut self.0 {
            for mode in modes {
                *mode = match n % 10 {
                    3 => SinkMode::BlackHole,
                    7 => SinkMode::Fail,
                    _ => SinkMode::Ok,
                };
                n += 1;
            }
        }
        self
    }

    pub(super) fn partners(&self) -> usize {
        self.0.len()
    }

    fn modes(&self) -> impl Iterator<Item = SinkMode> + '_ {
        self.0.iter().flatten().copied()
    }

    fn endpoints(&self) -> usize {
        self.modes().count()
    }

    pub(super) fn healthy(&self) -> usize {
        self.modes().filter(|m| *m == SinkMode::Ok).count()
    }

    /// Healthy deliveries made by `events` events, event `i` going to
    /// partner `i % partners`.
    pub(super) fn healthy_deliveries(&self, events: usize) -> usize {
        let p = self.partners();
        self.0
            .iter()
            .enumerate()
            .map(|(i, modes)| {
                let events_here = events / p + usize::from(i < events % p);
                events_here * modes.iter().filter(|m| **m == SinkMode::Ok).count()
            })
            .sum()
    }

    fn partner_id(p: usize) -> String {
        format!("bench-p{p}")
    }

    pub(super) fn partner_ids(&self) -> Vec<String> {
        (0..self.partners()).map(Layout::partner_id).collect()
    }
}

/// One step with traffic.
pub(super) struct Traffic {
    pub(super) scenario: &'static str,
    pub(super) label: String,
    pub(super) layout: Layout,
    pub(super) events: usize,
    pub(super) rate: Option<f64>,
    pub(super) kafka: Kafka,
}

/// Runs the chosen scenarios and writes the report.
pub async fn run_all(config: &Config, args: &BenchArgs) -> Result<(), BenchError> {
    let steps = plan(args)?;
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|e| BenchError::new(e.to_string()))?,
    };
    let bench = Bench {
        config: Arc::new(config.clone()),
        args: Arc::new(args.clone()),
        clock: Clock(std::time::Instant::now()),
        binary,
    };
    std::fs::create_dir_all(args.out.join("logs"))
        .map_err(|e| BenchError::new(format!("{}: {e}", args.out.display())))?;
    let mut report = Report {
        machine: Machine::read(),
        quick: args.quick,
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        steps: Vec::new(),
        isolation: None,
        idle: Vec::new(),
    };
    for (n, step) in steps.into_iter().enumerate() {
        match step {
            Step::Cdc(t) => {
                eprintln!("{} / {}: starting", t.scenario, t.label);
                let env = StepEnv::create(&bench.args.admin_url, &bench.config, &t.kafka).await?;
                let r = super::cdc::run(&bench, &env, &t, n).await;
                env.drop_database().await;
                let r = r?;
                eprintln!("{} / {}: {}", t.scenario, t.label, summary(&r));
                report.steps.push(r);
            }
            Step::Traffic(t) => {
                eprintln!("{} / {}: starting", t.scenario, t.label);
                let env = StepEnv::create(&bench.args.admin_url, &bench.config, &t.kafka).await?;
                let r = traffic(&bench, &env, &t, n).await;
                env.drop_database().await;
                let r = r?;
                eprintln!("{} / {}: {}", t.scenario, t.label, summary(&r));
                report.steps.push(r);
            }
            Step::Idle(endpoints) => {
                eprintln!("idle-scale / {endpoints} endpoints: starting");
                let kafka = kafkas(&bench.args).pop().unwrap_or(Kafka::Mock);
                let env = StepEnv::create(&bench.args.admin_url, &bench.config, &kafka).await?;
                let r = idle(&bench, &env, endpoints, n).await;
                env.drop_database().await;
                let r = r?;
                eprintln!(
                    "idle-scale / {endpoints} endpoints: load {:.1} s, reload {:.0} ms, RSS {:.0} MiB, idle CPU {:.1}%",
                    r.load_s, r.reload_ms, r.rss_mib, r.idle_cpu_percent
                );
                report.idle.push(r);
            }
        }
    }
    report.isolation = isolation(&report.steps);
    report.write(&args.out)?;
    println!("{}", report.markdown());
    println!(
        "results written to {}",
        args.out.join("results.json").display()
    );
    Ok(())
}

pub(super) fn summary(r: &StepResult) -> String {
    let st = &r.stages_ms;
    format!(
        "stages p50/p99 ms: kafka->stored {:.1}/{:.1}, stored->attempt {:.1}/{:.1}; {}/{} durable, {:.0}/s (baseline {}), e2e p50 {:.2} ms p99 {:.2} ms max {:.2} ms, CPU {:.0}%, peak RSS {:.0} MiB",
        st.kafka_to_stored_p50,
        st.kafka_to_stored_p99,
        st.stored_to_attempt_p50,
        st.stored_to_attempt_p99,
        r.delivered,
        r.expected_deliveries,
        r.deliveries_per_s,
        r.baseline
            .as_ref()
            .map_or("-".into(), |b| format!("{:.0}/s", b.per_s)),
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        r.cpu_percent,
        r.peak_rss_mib
    )
}

fn isolation(steps: &[StepResult]) -> Option<Isolation> {
    let of = |healthy: bool| {
        steps
            .iter()
            .find(|s| s.scenario == "isolation" && (s.healthy_endpoints == s.endpoints) == healthy)
            .map(|s| s.latency_ms.p99)
    };
    let (reference, healthy) = (of(true)?, of(false)?);
    Some(Isolation {
        reference_p99_ms: reference,
        healthy_p99_ms: healthy,
        ratio: healthy / reference.max(1e-9),
    })
}

/// Registers the layout's partners and endpoints (pinned to v1, every event
/// type) in a few bulk statements; returns the time it took.
pub(super) async fn register(
    env: &StepEnv,
    layout: &Layout,
    urls: &[String],
) -> Result<f64, BenchError> {
    let start = std::time::Instant::now();
    let db = &env.db;
    let partners = layout.partner_ids();
    let mut ids = Vec::with_capacity(urls.len());
    let mut owners = Vec::with_capacity(urls.len());
    for (p, modes) in layout.0.iter().enumerate() {
        for _ in modes {
            ids.push(format!("ep_{:016x}", ids.len()));
            owners.push(Layout::partner_id(p));
        }
    }
    let secrets: Vec<String> = ids
        .iter()
        .map(|_| SigningSecret::generate().as_str().to_owned())
        .collect();
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    // Per-row triggers (the 5-per-partner check, which the layout respects,
    // and one change notification per row) are skipped for the bulk insert
    // where the role may (a superuser); trackwire is not running yet and
    // loads everything when it starts.
    let bypass = db
        .batch_execute("SET session_replication_role = replica")
        .await
        .is_ok();
    let run = async {
        db.execute(
            "INSERT INTO partners (id, name) SELECT p, p FROM unnest($1::text[]) AS p",
            &[&partners],
        )
        .await?;
        db.execute(
            "INSERT INTO endpoints (id, partner_id, url, schema_version)
             SELECT id, p, url, 'v1' FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, p, url)",
            &[&ids, &owners, &urls],
        )
        .await?;
        db.execute(
            "INSERT INTO endpoint_event_types (endpoint_id, event_type)
             SELECT e, t FROM unnest($1::text[]) AS e CROSS JOIN unnest($2::text[]) AS t",
            &[&ids, &types],
        )
        .await?;
        db.execute(
            "INSERT INTO endpoint_secrets (endpoint_id, secret)
             SELECT e, s FROM unnest($1::text[], $2::text[]) AS x(e, s)",
            &[&ids, &secrets],
        )
        .await?;
        if bypass {
            db.batch_execute("RESET session_replication_role").await?;
        }
        db.batch_execute("ANALYZE").await
    };
    run.await.map_err(BenchError::db)?;
    Ok(start.elapsed().as_secs_f64())
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
async fn traffic(
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

    // Warm-up: one event per partner reaches every endpoint, which proves
    // the consumer has joined and opens the connections.
    let warm = producer::Plan {
        partners: layout.partner_ids(),
        count: layout.partners(),
        rate: None,
        prefix: 'w',
    };
    producer.run(&warm).await?;
    let want = layout.healthy() as u64;
    let warmed = progress(&mut tracked, Duration::from_secs(90), || {
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

/// `idle-scale`: many endpoints, no traffic.
async fn idle(
    bench: &Bench,
    env: &StepEnv,
    endpoints: usize,
    n: usize,
) -> Result<IdleResult, BenchError> {
    let layout = Layout::packed(endpoints);
    let sink = Sink::start(SinkMode::Ok, bench.clock)
        .await
        .map_err(|e| BenchError::new(format!("sink: {e}")))?;
    let urls: Vec<String> = (0..endpoints).map(|e| sink.url(e)).collect();
    let insert_s = register(env, &layout, &urls).await?;
    let http = free_port()?;
    let started = bench.clock.now_ns();
    let mut tracked = Tracked::start(launch(bench, env, &http, n, "idle-scale"))?;
    let timeout = Duration::from_secs(60 + endpoints as u64 / 100);
    let mut actors = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    while (actors as usize) < endpoints {
        tracked.check_running()?;
        if tokio::time::Instant::now() >= deadline {
            return Err(BenchError::new(format!(
                "only {actors}/{endpoints} endpoint actors after {timeout:?}"
            )));
        }
        actors = measure::endpoint_actors(&http).await.unwrap_or(0);
        eprint!("\r\x1b[2K  idle-scale: {actors}/{endpoints} endpoint actors");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let load_s = (bench.clock.now_ns() - started) as f64 / 1e9;
    eprintln!();
    // Every new actor reads its stored health and the first page of its
    // backlog, one query each; idle is measured once that is over.
    let settle = if bench.args.quick {
        0.5
    } else {
        (endpoints as f64 / 4_000.0).max(5.0)
    };
    tokio::time::sleep(Duration::from_secs_f64(settle)).await;
    let before = measure::sample(tracked.pid());
    tokio::time::sleep(Duration::from_secs_f64(settle * 2.0)).await;
    let after = measure::sample(tracked.pid());
    let reload_ms = reload(bench, env, &http).await?;
    Ok(IdleResult {
        endpoints,
        insert_s,
        load_s,
        reload_ms,
        rss_mib: after.rss_mib,
        peak_rss_mib: after.peak_rss_mib,
        idle_cpu_percent: 100.0 * (after.cpu_s - before.cpu_s) / (settle * 2.0),
    })
}

/// Asks for a full reload (the notification a partner suspension sends) and
/// times how long the router stops answering meanwhile: the slowest health
/// probe sent during the reload. The reload itself runs beside the router's
/// mailbox, so this is the stall ingest would see.
async fn reload(bench: &Bench, env: &StepEnv, http: &str) -> Result<f64, BenchError> {
    let clock = bench.clock;
    let asked = clock.now_ns();
    env.db
        .batch_execute("NOTIFY trackwire_endpoints, ''")
        .await
        .map_err(BenchError::db)?;
    let mut done = asked;
    let mut slowest = 0;
    loop {
        let sent = clock.now_ns();
        measure::endpoint_actors(http).await;
        let back = clock.now_ns();
        if back - sent > slowest {
            slowest = back - sent;
            done = back;
        }
        let waited = back - asked;
        if waited > 1_000_000_000 && waited > 2 * (done - asked) || waited > 120_000_000_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok((done - asked) as f64 / 1e6)
}

fn free_port() -> Result<String, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BenchError::new(format!("no free port: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::new(format!("no free port: {e}")))?;
    Ok(addr.to_string())
}
