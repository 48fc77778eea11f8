//! `cdc`: from a status UPDATE committed in the OMS's MariaDB to the
//! partner's receipt, through Debezium, Kafka Connect, a real broker and
//! trackwire.
//!
//! The OMS is the MariaDB `scripts/cdc` starts (user `oms`, database `oms`,
//! table `orders`) with its connector writing into `--oms-topic`. The step
//! prepares one row per measured change in a status no event maps, then
//! moves row `o{i}` to CONFIRMED at the fixed rate, one autocommit
//! statement each, spread over a few `mariadb` client sessions as an OMS's
//! application servers would (one session commits a few hundred times a
//! second at most on a disk that syncs every commit). A change's latency
//! runs from the moment its statement is handed to the client (so it
//! includes the commit) to the sink's receipt.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::bench::layout::{register, Layout};
use crate::bench::measure::{self, Tracked};
use crate::bench::plan::Step;
use crate::bench::report::StepResult;
use crate::bench::traffic::{self, Sinks, Traffic};
use crate::bench::{Bench, BenchArgs, BenchError, Kafka, StepEnv};

/// A status no event type maps: rows wait in it until measured.
const PARKED: &str = "BENCH_PARKED";

/// OMS sessions the changes are spread over.
const SESSIONS: usize = 4;

/// One `mariadb` client session, fed statements on its standard input.
struct OmsSession {
    child: Child,
    stdin: ChildStdin,
}

impl OmsSession {
    fn open(port: u16) -> Result<Self, BenchError> {
        let mut child = client(port)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| BenchError::new(format!("cannot start the mariadb client: {e}")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        Ok(OmsSession { child, stdin })
    }

    /// Hands one statement to the server (the client runs it at once).
    fn run(&mut self, sql: &str) -> Result<(), BenchError> {
        writeln!(self.stdin, "{sql}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| BenchError::new(format!("the mariadb client stopped: {e}")))
    }
}

impl Drop for OmsSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(port: u16) -> Command {
    let mut cmd = Command::new("mariadb");
    cmd.args(["--no-defaults", "-h", "127.0.0.1", "-u", "oms", "-poms"])
        .arg(format!("-P{port}"))
        .arg("oms");
    cmd
}

/// Runs SQL to completion in a session of its own.
fn execute(port: u16, sql: &str) -> Result<(), BenchError> {
    let out = client(port)
        .args(["-e", sql])
        .output()
        .map_err(|e| BenchError::new(format!("cannot start the mariadb client: {e}")))?;
    if !out.status.success() {
        return Err(BenchError::new(format!(
            "OMS on 127.0.0.1:{port} (start it with scripts/cdc start): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Fresh rows: `o{i}` for the measured changes, `w{p}` for the warm-up of
/// partner `p`, all parked. Old rows of earlier runs are deleted (deletes
/// emit nothing).
fn prepare_rows(port: u16, partners: &[String], events: usize) -> Result<(), BenchError> {
    execute(
        port,
        "DELETE FROM orders WHERE id LIKE 'o%' OR id LIKE 'w%'",
    )?;
    let warm: Vec<String> = partners
        .iter()
        .enumerate()
        .map(|(p, partner)| format!("('w{p}', '{partner}', '{PARKED}')"))
        .collect();
    let rows: Vec<String> = (0..events)
        .map(|i| format!("('o{i}', '{}', '{PARKED}')", partners[i % partners.len()]))
        .chain(warm)
        .collect();
    for chunk in rows.chunks(1_000) {
        execute(
            port,
            &format!(
                "INSERT INTO orders (id, partner_id, status) VALUES {}",
                chunk.join(",")
            ),
        )?;
    }
    Ok(())
}

/// Moves each warm-up row out of and back into CONFIRMED until every
/// endpoint has had one: trackwire starts reading at the end of the topic
/// once its group has joined, which takes a moment.
async fn warm_up(
    session: &mut OmsSession,
    sinks: &Sinks,
    tracked: &mut Tracked,
    partners: usize,
    endpoints: u64,
) -> Result<(), BenchError> {
    for _ in 0..30 {
        for p in 0..partners {
            session.run(&format!(
                "UPDATE orders SET status = '{PARKED}' WHERE id = 'w{p}';"
            ))?;
            session.run(&format!(
                "UPDATE orders SET status = 'CONFIRMED' WHERE id = 'w{p}';"
            ))?;
        }
        let reached = traffic::progress(tracked, Duration::from_secs(3), || {
            let got = sinks.received();
            (
                got >= endpoints,
                format!("warm-up: {got}/{endpoints} endpoints reached"),
            )
        })
        .await?;
        if reached {
            return Ok(());
        }
    }
    Err(BenchError::new(format!(
        "no warm-up change reached every endpoint; is the connector writing into the topic? See {}",
        tracked.log.display()
    )))
}

/// The `cdc` step.
pub async fn run(
    bench: &Bench,
    env: &StepEnv,
    t: &Traffic,
    n: usize,
) -> Result<StepResult, BenchError> {
    let (clock, port, layout) = (bench.clock, bench.args.oms_port, &t.layout);
    let sinks = Sinks::start(layout, bench.args.sinks.into(), clock).await?;
    register(env, layout, &sinks.urls).await?;
    prepare_rows(port, &layout.partner_ids(), t.events)?;
    let mut sessions = (0..SESSIONS)
        .map(|_| OmsSession::open(port))
        .collect::<Result<Vec<_>, _>>()?;
    // The topic holds earlier runs' changes: read only what comes now.
    let extra = [("TRACKWIRE_KAFKA__PROPERTIES__AUTO_OFFSET_RESET", "latest")];
    let mut launch = traffic::launch(bench, env, "127.0.0.1:0", n, t.scenario);
    launch.extra = &extra;
    let mut tracked = Tracked::start(launch)?;
    let partners = layout.partners();
    warm_up(
        &mut sessions[0],
        &sinks,
        &mut tracked,
        partners,
        layout.healthy() as u64,
    )
    .await?;
    sinks.reset();

    let cpu0 = measure::sample(tracked.pid());
    let expected = layout.healthy_deliveries(t.events);
    let rate = t.rate.unwrap_or(200.0);
    let started = clock.now_ns();
    let mut sent_at = Vec::with_capacity(t.events);
    for i in 0..t.events {
        let due = started + (i as f64 * 1e9 / rate) as u64;
        let now = clock.now_ns();
        if due > now + 200_000 {
            tokio::time::sleep(Duration::from_nanos(due - now)).await;
        }
        sent_at.push(clock.now_ns());
        sessions[i % SESSIONS].run(&format!(
            "UPDATE orders SET status = 'CONFIRMED' WHERE id = 'o{i}';"
        ))?;
    }
    let budget = Duration::from_secs(60 + expected as u64 / 100);
    traffic::progress(&mut tracked, budget, || {
        let got = sinks.received() as usize;
        (
            got >= expected,
            format!("cdc: {} changes, received {got}/{expected}", t.events),
        )
    })
    .await?;
    let delivered = traffic::wait_durable(&env.db, expected as i64).await?;
    let durable_at = clock.now_ns();
    let cpu1 = measure::sample(tracked.pid());
    let attempt_ms = measure::attempt_latency(&env.db).await?;
    let stages = measure::stages(&env.db).await?;
    drop(tracked);

    let receipts = sinks.receipts();
    let mut result = traffic::summarize(t, expected, delivered, &receipts, &sent_at, durable_at);
    result.attempt_ms = attempt_ms;
    result.stages_ms = stages;
    result.cpu_s = cpu1.cpu_s - cpu0.cpu_s;
    result.cpu_percent = 100.0 * result.cpu_s / ((durable_at - started) as f64 / 1e9).max(1e-9);
    result.peak_rss_mib = cpu1.peak_rss_mib;
    Ok(result)
}

/// One step on the real broker through the OMS's Debezium connector.
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let Some(brokers) = &args.brokers else {
        return Err(BenchError::new(
            "the cdc scenario needs --brokers and a Debezium connector writing into --oms-topic (scripts/cdc start)",
        ));
    };
    let rate = args.rate.unwrap_or(200.0);
    steps.push(Step::Cdc(Traffic {
        scenario: "cdc",
        label: format!("{rate:.0} changes/s"),
        layout: Layout::even(args.partners.unwrap_or(10), args.endpoints.unwrap_or(10))?,
        events: args
            .count
            .unwrap_or(if args.quick { 200 } else { rate as usize * 10 }),
        rate: Some(rate),
        kafka: Kafka::Real {
            brokers: brokers.clone(),
            cdc_topic: Some(args.oms_topic.clone()),
        },
    }));
    Ok(())
}
