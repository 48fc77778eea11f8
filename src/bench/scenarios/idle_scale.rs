//! `idle-scale`: 10,000 and 100,000 endpoints, no traffic: how long they
//! take to load, what they cost at rest, and how long a full reload stalls
//! the router.

use std::time::Duration;

use crate::bench::layout::{register, Layout};
use crate::bench::measure::{self, Tracked};
use crate::bench::plan::Step;
use crate::bench::report::IdleResult;
use crate::bench::sinks::{Sink, SinkMode};
use crate::bench::traffic::{free_port, launch};
use crate::bench::{Bench, BenchArgs, BenchError, StepEnv};

/// One step per size: 10,000 and 100,000 endpoints (100 when quick).
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let sizes: &[usize] = if args.quick {
        &[100]
    } else {
        &[10_000, 100_000]
    };
    steps.extend(sizes.iter().map(|&n| Step::Idle(n)));
    Ok(())
}

/// Runs one step: many endpoints, no traffic.
pub(in crate::bench) async fn run(
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
