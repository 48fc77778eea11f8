//! Results: one JSON document and one Markdown page per run.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::baseline::BaselineResult;
use super::measure::{Percentiles, Stages};
use super::BenchError;

/// A whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The machine it ran on.
    pub machine: Machine,
    /// `--quick` was given.
    pub quick: bool,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// The command line.
    pub command: String,
    /// Steps with traffic, in the order run.
    pub steps: Vec<StepResult>,
    /// `isolation`: healthy endpoints beside the all-healthy reference.
    pub isolation: Option<Isolation>,
    /// `idle-scale` steps.
    pub idle: Vec<IdleResult>,
}

/// Where the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model, from /proc/cpuinfo.
    pub cpu_model: String,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// /proc/loadavg when the run started: other work on the machine.
    pub loadavg_at_start: String,
}

impl Machine {
    /// Reads /proc.
    pub fn read() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let meminfo = read("/proc/meminfo");
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default(),
            memory_gib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0 / 1024.0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            loadavg_at_start: read("/proc/loadavg").trim().to_owned(),
        }
    }
}

/// One step with traffic.
#[derive(Debug, Serialize)]
pub struct StepResult {
    /// steady, max, isolation or fanout.
    pub scenario: String,
    /// Which step of it.
    pub label: String,
    /// Partners registered.
    pub partners: usize,
    /// Endpoints registered.
    pub endpoints: usize,
    /// Endpoints answering 200.
    pub healthy_endpoints: usize,
    /// CDC records produced.
    pub events: usize,
    /// Events per second asked for; `None` is as fast as possible.
    pub rate: Option<f64>,
    /// Deliveries to healthy endpoints the events make.
    pub expected_deliveries: usize,
    /// Of those, `state = 'delivered'` in PostgreSQL at the end: acknowledged
    /// and durably recorded.
    pub delivered: i64,
    /// Distinct deliveries the healthy sinks received.
    pub received: usize,
    /// Receipts beyond the first of a delivery (at-least-once redeliveries).
    pub duplicates: usize,
    /// From the first record produced to the last delivery durable.
    pub duration_s: f64,
    /// `delivered` over `duration_s`: the sustained durable rate.
    pub deliveries_per_s: f64,
    /// Receipts per second, first record produced to last receipt.
    pub receipts_per_s: f64,
    /// Record handed to Kafka to sink receipt.
    pub latency_ms: Percentiles,
    /// trackwire's own attempt latency, as recorded (whole milliseconds).
    pub attempt_ms: Percentiles,
    /// Where the time goes inside trackwire.
    pub stages_ms: Stages,
    /// trackwire's CPU seconds during the step.
    pub cpu_s: f64,
    /// `cpu_s` over the step's duration (100 = one core).
    pub cpu_percent: f64,
    /// trackwire's peak RSS (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// The bare-HTTP baseline on the same sinks.
    pub baseline: Option<BaselineResult>,
    /// `deliveries_per_s` over the baseline's rate.
    pub throughput_ratio: Option<f64>,
    /// End-to-end p99 over the baseline's request p99.
    pub p99_ratio: Option<f64>,
}

/// Healthy endpoints beside sick ones, against the same layout all healthy,
/// over rounds of the two steps.
#[derive(Debug, Serialize)]
pub struct Isolation {
    /// Median p99 with every endpoint healthy.
    pub reference_p99_ms: f64,
    /// Median p99 of the healthy endpoints with 10% black holes and 10%
    /// failing.
    pub healthy_p99_ms: f64,
    /// Median of the rounds' `healthy / reference` p99 ratios (target: at
    /// most 1.1).
    pub ratio: f64,
    /// Each round's ratio, in the order run.
    pub ratios: Vec<f64>,
}

/// One `idle-scale` step.
#[derive(Debug, Serialize)]
pub struct IdleResult {
    /// Endpoints registered.
    pub endpoints: usize,
    /// Bulk insert of the endpoints, seconds.
    pub insert_s: f64,
    /// From process start until every endpoint has an actor, seconds.
    pub load_s: f64,
    /// A full routing-table reload (change notification to the router
    /// answering again), milliseconds.
    pub reload_ms: f64,
    /// RSS once settled, MiB.
    pub rss_mib: f64,
    /// Peak RSS (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// CPU while idle (100 = one core).
    pub idle_cpu_percent: f64,
}

impl Report {
    /// Writes `results.json` and `results.md` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), BenchError> {
        let io = |e: std::io::Error| BenchError::new(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| BenchError::new(e.to_string()))?;
        std::fs::write(dir.join("results.json"), json).map_err(io)?;
        std::fs::write(dir.join("results.md"), self.markdown()).map_err(io)?;
        Ok(())
    }

    /// The Markdown page.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "# trackwire bench, {}\n", self.started_at);
        let _ = writeln!(
            s,
            "`{}` on {} CPUs ({}), {:.0} GiB, Linux {}; load average at start {}.\n",
            self.command, m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.loadavg_at_start
        );
        if !self.steps.is_empty() {
            s.push_str("| scenario | step | endpoints | events | rate ev/s | delivered (durable) | deliveries/s | baseline/s | ratio | e2e p50 ms | p90 | p99 | p99.9 | max | baseline p99 ms | attempt p99 ms | CPU % | peak RSS MiB |\n");
            s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for r in &self.steps {
                let l = &r.latency_ms;
                let (base, base_p99) = r.baseline.as_ref().map_or(("-".into(), "-".into()), |b| {
                    (
                        format!("{:.0}", b.per_s),
                        format!("{:.2}", b.latency_ms.p99),
                    )
                });
                let _ = writeln!(
                    s,
                    "| {} | {} | {} ({} healthy) | {} | {} | {}/{} | {:.0} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {:.0} | {:.0} |",
                    r.scenario,
                    r.label,
                    r.endpoints,
                    r.healthy_endpoints,
                    r.events,
                    r.rate.map_or("max".into(), |x| format!("{x:.0}")),
                    r.delivered,
                    r.expected_deliveries,
                    r.deliveries_per_s,
                    base,
                    r.throughput_ratio.map_or("-".into(), |x| format!("{x:.2}x")),
                    l.p50,
                    l.p90,
                    l.p99,
                    l.p999,
                    l.max,
                    base_p99,
                    r.attempt_ms.p99,
                    r.cpu_percent,
                    r.peak_rss_mib,
                );
            }
            s.push('\n');
        }
        if let Some(i) = &self.isolation {
            let _ = writeln!(
                s,
                "Isolation: healthy p99 {:.2} ms with 10% black holes and 10% failing, {:.2} ms all healthy (medians): {:.2}x, the median of {} rounds ({}).\n",
                i.healthy_p99_ms,
                i.reference_p99_ms,
                i.ratio,
                i.ratios.len(),
                i.ratios
                    .iter()
                    .map(|r| format!("{r:.2}x"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !self.idle.is_empty() {
            s.push_str("| idle endpoints | bulk insert s | load s | reload ms | RSS MiB | peak RSS MiB | idle CPU % |\n");
            s.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
            for r in &self.idle {
                let _ = writeln!(
                    s,
                    "| {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.1} |",
                    r.endpoints,
                    r.insert_s,
                    r.load_s,
                    r.reload_ms,
                    r.rss_mib,
                    r.peak_rss_mib,
                    r.idle_cpu_percent
                );
            }
        }
        s
    }
}
