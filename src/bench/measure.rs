//! What is measured and how: trackwire as a child process (so its CPU time and
//! peak RSS are its own, read from `/proc/<pid>`), latency percentiles, and
//! the store's count of durable deliveries.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::BenchError;

/// Latency percentiles in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of nanosecond samples (sorted in place). Exact: the counts
    /// here are small enough to sort, so no histogram is needed.
    pub fn of(ns: &mut [u64]) -> Self {
        ns.sort_unstable();
        let at = |q: f64| {
            if ns.is_empty() {
                return 0.0;
            }
            let rank = ((q * ns.len() as f64).ceil() as usize).clamp(1, ns.len());
            ns[rank - 1] as f64 / 1e6
        };
        Percentiles {
            n: ns.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

/// CPU time and memory of a process at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// User plus system CPU seconds since the process started.
    pub cpu_s: f64,
    /// Resident set now, MiB.
    pub rss_mib: f64,
    /// Peak resident set (VmHWM), MiB.
    pub peak_rss_mib: f64,
}

/// Reads `/proc/<pid>/stat` (utime, stime) and `/proc/<pid>/status` (VmRSS,
/// VmHWM).
pub fn sample(pid: u32) -> ProcSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; fields are counted after its ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    let cpu_ticks = ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    ProcSample {
        cpu_s: cpu_ticks / clock_ticks_per_second(),
        rss_mib: kib("VmRSS:") / 1024.0,
        peak_rss_mib: kib("VmHWM:") / 1024.0,
    }
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `fetch.wait.max.ms` given to trackwire's consumer against the mock
/// cluster (see [`Tracked::start`]).
pub const MOCK_FETCH_WAIT_MS: &str = "1";

/// A `trackwire run` started for one step. Killed when dropped.
pub struct Tracked {
    child: Child,
    /// Where its log goes.
    pub log: PathBuf,
}

/// How to start trackwire for a step.
pub struct Launch<'a> {
    /// The binary.
    pub binary: &'a Path,
    /// The step's database.
    pub db_url: &'a str,
    /// The step's broker.
    pub brokers: &'a str,
    /// The CDC and dead-letter topics.
    pub topics: (&'a str, &'a str),
    /// The consumer group.
    pub group: &'a str,
    /// Whether the broker is the mock cluster (see [`Tracked::start`]).
    pub mock: bool,
    /// Further variables for this step.
    pub extra: &'a [(&'a str, &'a str)],
    /// The admin API address (`127.0.0.1:0` unless the step asks it questions).
    pub http_listen: &'a str,
    /// Its log file.
    pub log: PathBuf,
}

impl Tracked {
    /// Starts `trackwire run` with the benchmark's environment: loopback
    /// sinks allowed, warnings only, private ports, no brokers file.
    pub fn start(launch: Launch<'_>) -> Result<Self, BenchError> {
        let file = std::fs::File::create(&launch.log)
            .map_err(|e| BenchError::new(format!("{}: {e}", launch.log.display())))?;
        let no_file = launch.log.with_extension("no-brokers-file");
        let mut cmd = Command::new(launch.binary);
        cmd.arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The bench's own TRACKWIRE_* settings, to measure a tuning;
            // those below take precedence.
            .envs(
                std::env::vars().filter(|(k, _)| {
                    k.starts_with("TRACKWIRE_") && !k.starts_with("TRACKWIRE_BENCH_")
                }),
            )
            .env("TRACKWIRE_DATABASE__URL", launch.db_url)
            .env("TRACKWIRE_KAFKA__BROKERS", launch.brokers)
            .env("TRACKWIRE_KAFKA__BROKERS_FILE", no_file)
            .env("TRACKWIRE_KAFKA__CDC_TOPIC", launch.topics.0)
            .env("TRACKWIRE_KAFKA__DLQ_TOPIC", launch.topics.1)
            .env("TRACKWIRE_KAFKA__GROUP_ID", launch.group)
            .env("TRACKWIRE_HTTP__LISTEN", launch.http_listen)
            .env("TRACKWIRE_METRICS__LISTEN", "127.0.0.1:0")
            .env("TRACKWIRE_DELIVERY__ALLOW_INSECURE_HOSTS", "127.0.0.1")
            .env("TRACKWIRE_LOG__LEVEL", "warn")
            .env("NO_COLOR", "1");
        if launch.mock {
            // The mock cluster's first join waits on the session timeout (a
            // real broker refuses one below its group.min.session.timeout.ms).
            cmd.env("TRACKWIRE_KAFKA__SESSION_TIMEOUT", "3s");
            // A Kafka broker answers a long-polling fetch as soon as data
            // arrives; the mock cluster always waits out fetch.wait.max.ms
            // (rdkafka_mock_handlers.c, "this isn't strictly correct").
            // With librdkafka's 500 ms default that wait, not trackwire,
            // would be the latency measured; a short one stands in for the
            // real broker's early answer.
            cmd.env(
                "TRACKWIRE_KAFKA__PROPERTIES__FETCH_WAIT_MAX_MS",
                MOCK_FETCH_WAIT_MS,
            );
        }
        cmd.envs(launch.extra.iter().copied());
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| {
                BenchError::new(format!("cannot start {}: {e}", launch.binary.display()))
            })?;
        Ok(Tracked {
            child,
            log: launch.log,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error if it has exited, with the end of its log.
    pub fn check_running(&mut self) -> Result<(), BenchError> {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(BenchError::new(format!(
                "trackwire exited ({status}); log {}:\n{tail}",
                self.log.display()
            )));
        }
        Ok(())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks trackwire's `/health/ready` how many endpoint actors run. `None`
/// while it does not answer.
pub async fn endpoint_actors(addr: &str) -> Option<u64> {
    let client: Client<_, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: hyper::Uri = format!("http://{addr}/health/ready").parse().ok()?;
    let res = tokio::time::timeout(Duration::from_secs(30), client.get(uri))
        .await
        .ok()?
        .ok()?;
    let body = res.into_body().collect().await.ok()?.to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    v.get("endpoint_actors")?.as_u64()
}

/// Deliveries of measured events (order ids `o…`) in state `delivered`:
/// acknowledged and durably recorded.
pub async fn delivered(db: &tokio_postgres::Client) -> Result<i64, BenchError> {
    let row = db
        .query_one(
            "SELECT count(*) FROM deliveries WHERE state = 'delivered' AND order_id LIKE 'o%'",
            &[],
        )
        .await
        .map_err(BenchError::db)?;
    Ok(row.get(0))
}

/// Latency of trackwire's acknowledged attempts as it recorded them (whole
/// milliseconds), for measured events.
pub async fn attempt_latency(db: &tokio_postgres::Client) -> Result<Percentiles, BenchError> {
    let row = db
        .query_one(
            "SELECT count(*),
                    percentile_disc(ARRAY[0.5, 0.9, 0.99, 0.999]::float8[])
                        WITHIN GROUP (ORDER BY a.latency_ms),
                    max(a.latency_ms)
             FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE a.http_status BETWEEN 200 AND 299 AND d.order_id LIKE 'o%'",
            &[],
        )
        .await
        .map_err(BenchError::db)?;
    let n: i64 = row.get(0);
    let qs: Option<Vec<i32>> = row.get(1);
    let max: Option<i32> = row.get(2);
    let qs = qs.unwrap_or_default();
    let q = |i: usize| qs.get(i).copied().unwrap_or(0) as f64;
    Ok(Percentiles {
        n: n as usize,
        p50: q(0),
        p90: q(1),
        p99: q(2),
        p999: q(3),
        max: max.unwrap_or(0) as f64,
    })
}

/// Where the time goes, from the store's timestamps (wall clock,
/// millisecond precision at the Kafka end): p50 and p99 of each stage.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stages {
    /// Record timestamp to the ingest transaction that stored its event.
    pub kafka_to_stored_p50: f64,
    /// 99th percentile of the same.
    pub kafka_to_stored_p99: f64,
    /// Ingest transaction to the start of the first attempt.
    pub stored_to_attempt_p50: f64,
    /// 99th percentile of the same.
    pub stored_to_attempt_p99: f64,
}

/// Reads [`Stages`] for measured events.
pub async fn stages(db: &tokio_postgres::Client) -> Result<Stages, BenchError> {
    let ms = |sql: &str| {
        format!(
        "percentile_cont(ARRAY[0.5, 0.99]::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM {sql}) * 1000)"
    )
    };
    let row = db
        .query_one(
            &format!(
                "SELECT (SELECT {} FROM events e WHERE e.order_id LIKE 'o%'),
                        (SELECT {} FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                         JOIN events e ON e.id = d.event_id
                         WHERE a.attempt_number = 1 AND d.order_id LIKE 'o%')",
                ms("(e.ingested_at - e.source_appended_at)"),
                ms("(a.started_at - e.ingested_at)")
            ),
            &[],
        )
        .await
        .map_err(BenchError::db)?;
    let a: Vec<f64> = row.get::<_, Option<Vec<f64>>>(0).unwrap_or_default();
    let b: Vec<f64> = row.get::<_, Option<Vec<f64>>>(1).unwrap_or_default();
    let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
    Ok(Stages {
        kafka_to_stored_p50: at(&a, 0),
        kafka_to_stored_p99: at(&a, 1),
        stored_to_attempt_p50: at(&b, 0),
        stored_to_attempt_p99: at(&b, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::Percentiles;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut ns: Vec<u64> = (1..=1000).map(|i| i * 1_000_000).collect();
        let p = Percentiles::of(&mut ns);
        assert_eq!(p.n, 1000);
        assert_eq!(p.p50, 500.0);
        assert_eq!(p.p99, 990.0);
        assert_eq!(p.p999, 999.0);
        assert_eq!(p.max, 1000.0);
        assert_eq!(Percentiles::of(&mut []).max, 0.0);
    }
}
