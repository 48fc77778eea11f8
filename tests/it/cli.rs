//! Bad configuration and bad command-line input get clear errors.

use std::process::{Command, Output};

/// Runs the binary with only `PATH` and `env` set.
pub(crate) fn trackwire(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trackwire"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run trackwire")
}

/// What a run printed on stderr.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_invalid_duration_stops_start_up_naming_the_key() {
    let out = trackwire(&["run"], &[("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "10x")]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("delivery.attempt_timeout"), "{err}");
    assert!(err.contains("10x"), "{err}");
}

#[test]
fn an_unknown_environment_variable_is_refused() {
    let out = trackwire(&["run"], &[("TRACKWIRE_DELIVERY__RETRY_SCHEDUEL", "1s")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("TRACKWIRE_DELIVERY__RETRY_SCHEDUEL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let out = trackwire(&["--config", "/nonexistent/trackwire.toml", "migrate"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/nonexistent/trackwire.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_config_file_value_names_the_key() {
    let dir = std::env::temp_dir().join(format!("tw-cli-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[cdc.status_map]\nSHIPPED = \"teleported\"\n").unwrap();
    let out = trackwire(&["--config", file.to_str().unwrap(), "migrate"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cdc.status_map.SHIPPED") && err.contains("out_for_delivery"),
        "{err}"
    );
}

#[test]
fn an_unknown_event_type_lists_the_valid_ones() {
    let out = trackwire(
        &[
            "endpoint",
            "create",
            "--partner",
            "p",
            "--url",
            "https://example.com/h",
            "--events",
            "delivered,teleported",
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--events") && err.contains("teleported") && err.contains("return_picked_up"),
        "{err}"
    );
}

#[test]
fn a_plain_http_or_internal_url_is_refused() {
    let out = trackwire(
        &[
            "endpoint",
            "create",
            "--partner",
            "p",
            "--url",
            "http://example.com/h",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("https://"), "{}", stderr(&out));
    let out = trackwire(
        &[
            "endpoint",
            "create",
            "--partner",
            "p",
            "--url",
            "https://169.254.169.254/x",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("internal address"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_partner_id_is_explained() {
    let out = trackwire(
        &["partner", "create", "--id", "no spaces!", "--name", "X"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a valid partner id"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_argument_is_reported_by_the_parser() {
    let out = trackwire(&["partner", "create", "--id", "x"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--name"), "{}", stderr(&out));
}
