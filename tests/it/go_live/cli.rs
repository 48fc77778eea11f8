//! The command line's errors: printed once, in words rather than Rust type
//! names, a clear message for a blank partner name and an unknown partner,
//! and log lines without colour codes when they go to a file.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{stderr, trackwire};
use crate::harness::TestEnv;

#[test]
fn a_config_error_is_printed_once_in_plain_words() {
    let out = trackwire(&["migrate"], &[("TRACKWIRE_DATABASE__POOL_SIZE", "abc")]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("database.pool_size").count(), 1, "{err}");
    assert!(!err.contains("usize"), "{err}");
    assert!(err.contains("a whole number"), "{err}");
}

#[tokio::test]
async fn a_blank_partner_name_and_an_unknown_partner_get_clear_messages() {
    let env = TestEnv::new(1).await;
    let db = [("TRACKWIRE_DATABASE__URL", env.db_url.as_str())];

    let out = trackwire(&["partner", "create", "--id", "acme", "--name", "   "], &db);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--name"), "{err}");
    assert!(
        !err.contains("constraint") && !err.contains("db error"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let out = trackwire(&["endpoint", "list", "--partner", "nosuch"], &db);
    assert!(!out.status.success(), "exit {:?}", out.status);
    let err = stderr(&out);
    assert!(err.contains("nosuch"), "{err}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn log_lines_written_to_a_file_carry_no_colour_codes() {
    let env = TestEnv::new(1).await;
    let log = env.dir.join("no-colour.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trackwire"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TRACKWIRE_DATABASE__URL", &env.db_url)
        .env("TRACKWIRE_KAFKA__BROKERS", &env.brokers)
        .env("TRACKWIRE_KAFKA__BROKERS_FILE", "")
        .env("TRACKWIRE_HTTP__LISTEN", "127.0.0.1:0")
        .env("TRACKWIRE_METRICS__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while Instant::now() < deadline && !text.contains("trackwire running") {
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("trackwire running"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
}
