//! Runs the steps a bench run plans, one after the other, each on a fresh
//! database and broker, and writes the report.

use std::sync::Arc;

use super::plan::{kafkas, plan, Step};
use super::report::{Machine, Report, StepResult};
use super::scenarios::{cdc, idle_scale, isolation};
use super::traffic::traffic;
use super::{Bench, BenchArgs, BenchError, Clock, Kafka, StepEnv};
use crate::config::Config;

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
                let r = cdc::run(&bench, &env, &t, n).await;
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
                let r = idle_scale::run(&bench, &env, endpoints, n).await;
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
    report.isolation = isolation::ratio(&report.steps);
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
