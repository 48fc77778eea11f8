//! A real OMS in front of the broker: MariaDB with its binlog, Debezium's
//! MariaDB connector and Kafka Connect, started with `scripts/cdc` into a
//! test's CDC topic; stopped and removed when dropped.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// MariaDB, Connect and the connector of one test.
pub struct Oms {
    dir: PathBuf,
    port: u16,
}

impl Oms {
    /// Starts them, streaming `oms.orders` into `topic` on `brokers`, and
    /// waits until the connector reads the binlog.
    pub async fn start(brokers: &str, topic: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tw-oms-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let (port, rest) = (free_port(), free_port());
        let args: Vec<String> = [
            "start",
            "-b",
            brokers,
            "-t",
            topic,
            "-p",
            &port.to_string(),
            "-r",
            &rest.to_string(),
            "-d",
            &dir.display().to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let oms = Oms { dir, port };
        tokio::task::spawn_blocking(move || {
            let out = Command::new(script())
                .args(&args)
                .output()
                .expect("run scripts/cdc");
            assert!(
                out.status.success(),
                "scripts/cdc start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        })
        .await
        .expect("scripts/cdc task");
        oms
    }

    /// Runs SQL as the OMS application does (its own user, autocommit per
    /// statement unless the SQL opens a transaction).
    pub async fn sql(&self, sql: &str) {
        let mut cmd = Command::new("mariadb");
        cmd.args(["--no-defaults", "-h", "127.0.0.1", "-u", "oms", "-poms"])
            .arg(format!("-P{}", self.port))
            .args(["oms", "-e", sql])
            .stdout(Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("mariadb task")
            .expect("run mariadb");
        assert!(
            out.status.success(),
            "SQL failed: {sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Oms {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", "-d"])
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cdc")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
