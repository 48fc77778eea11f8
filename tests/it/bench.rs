//! `trackwire bench --quick` runs every scenario end to end and writes its
//! results, on the mock cluster and on the real broker, so the harness
//! cannot rot. The figures are never asserted: they
//! depend on the machine.

use std::process::Command;

use crate::harness::admin_url;

#[test]
fn a_quick_bench_runs_every_scenario_and_writes_its_results() {
    // Arrange
    let out = std::env::temp_dir().join(format!("tw_bench_{}", rand::random::<u32>()));

    // Act
    let run = Command::new(env!("CARGO_BIN_EXE_trackwire"))
        .args(["bench", "--quick", "--out"])
        .arg(&out)
        .args(["--admin-url", &admin_url()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run trackwire bench");

    // Assert
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench failed:\n{stderr}");
    let json = std::fs::read(out.join("results.json")).expect("results.json written");
    let report: serde_json::Value = serde_json::from_slice(&json).expect("results.json is JSON");
    for key in [
        "machine",
        "quick",
        "started_at",
        "command",
        "steps",
        "isolation",
        "idle",
    ] {
        assert!(report.get(key).is_some(), "results.json lacks {key}");
    }
    let steps = report["steps"].as_array().expect("steps");
    let scenarios: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["scenario"].as_str())
        .collect();
    for scenario in ["steady", "max", "isolation", "fanout"] {
        assert!(
            scenarios.contains(&scenario),
            "no {scenario} step in {scenarios:?}"
        );
    }
    for step in steps {
        for key in [
            "expected_deliveries",
            "delivered",
            "deliveries_per_s",
            "latency_ms",
            "attempt_ms",
            "cpu_percent",
            "peak_rss_mib",
            "baseline",
            "throughput_ratio",
        ] {
            assert!(step.get(key).is_some(), "a step lacks {key}: {step}");
        }
        for key in ["p50", "p90", "p99", "p999", "max"] {
            assert!(step["latency_ms"].get(key).is_some(), "latency lacks {key}");
        }
    }
    let idle = report["idle"].as_array().expect("idle");
    assert!(!idle.is_empty(), "no idle-scale step");
    for key in [
        "endpoints",
        "load_s",
        "reload_ms",
        "rss_mib",
        "idle_cpu_percent",
    ] {
        assert!(idle[0].get(key).is_some(), "idle-scale lacks {key}");
    }
    assert!(out.join("results.md").exists(), "results.md written");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_quick_bench_runs_on_the_real_broker_beside_the_mock() {
    // Arrange
    let out = std::env::temp_dir().join(format!("tw_bench_{}", rand::random::<u32>()));

    // Act
    let run = Command::new(env!("CARGO_BIN_EXE_trackwire"))
        .args(["bench", "--quick", "--scenario", "steady", "--compare-mock"])
        .args(["--brokers", &crate::kafka::shared_brokers(), "--out"])
        .arg(&out)
        .args(["--admin-url", &admin_url()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run trackwire bench");

    // Assert: one step on each, every delivery made.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench failed:\n{stderr}");
    let json = std::fs::read(out.join("results.json")).expect("results.json written");
    let report: serde_json::Value = serde_json::from_slice(&json).expect("results.json is JSON");
    let steps = report["steps"].as_array().expect("steps");
    let labels: Vec<&str> = steps.iter().filter_map(|s| s["label"].as_str()).collect();
    assert_eq!(labels, ["200 ev/s, mock", "200 ev/s, Kafka"]);
    for step in steps {
        assert_eq!(step["delivered"], step["expected_deliveries"], "{step}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
