//! The observability artefacts agree with each other and with the code:
//! the metric catalogue, `docs/metrics.md`, the Grafana dashboards and the
//! Prometheus rules. The rule checks and unit tests need `promtool` (Debian
//! package `prometheus`) on the PATH.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use trackwire::telemetry::catalogue::{Kind, CATALOGUE};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Runs a Prometheus tool and fails with its output when it does not succeed.
fn run_tool(tool: &str, args: &[&str], dir: &Path) {
    let output = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}); install it: apt-get install -y prometheus")
        });
    assert!(
        output.status.success(),
        "{tool} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every dashboard, by file name.
fn dashboards() -> BTreeMap<String, Value> {
    let dir = repo("grafana/dashboards");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("grafana/dashboards") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read dashboard");
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            out.insert(
                path.file_name().unwrap().to_string_lossy().into_owned(),
                json,
            );
        }
    }
    assert!(
        out.len() >= 4,
        "expected the four dashboards, found {out:?}"
    );
    out
}

/// Every panel with its targets' expressions, panels inside rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

fn exprs(panel: &Value) -> Vec<&str> {
    panel["targets"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["expr"].as_str()).collect())
        .unwrap_or_default()
}

/// Uids of the provisioned datasources (the provisioning file is YAML; its
/// `uid:` lines are all this needs).
fn provisioned_datasource_uids() -> HashSet<String> {
    read("grafana/provisioning/datasources/prometheus.yml")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("uid:"))
        .map(|uid| uid.trim().trim_matches('"').to_owned())
        .collect()
}

/// Metric-like names (`trackwire_…`) an expression uses.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(pos) = expr[i..].find("trackwire_") {
        let start = i + pos;
        let boundary = start == 0
            || !(bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b':');
        let end = expr[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |e| start + e);
        if boundary {
            out.insert(expr[start..end].to_owned());
        }
        i = end;
    }
    out
}

/// Whether `name` is a catalogued series (histogram suffixes included).
fn catalogued(name: &str) -> bool {
    CATALOGUE.iter().any(|m| {
        m.name == name
            || (m.kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(m.name)))
    })
}

#[test]
fn dashboards_have_the_structure_grafana_provisioning_loads() {
    let datasources = provisioned_datasource_uids();
    assert!(!datasources.is_empty(), "no datasource uid provisioned");
    let mut uids = HashSet::new();
    for (file, d) in dashboards() {
        let uid = d["uid"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no uid"));
        assert!(
            uids.insert(uid.to_owned()),
            "{file}: uid {uid} is used twice"
        );
        assert!(uid.len() <= 40, "{file}: uid longer than Grafana allows");
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{file}: no title"
        );
        let mut ids = HashSet::new();
        for p in panels(&d) {
            let title = p["title"].as_str().unwrap_or("?");
            if p["type"] == "row" {
                continue;
            }
            assert!(
                p["id"].as_u64().is_some_and(|id| ids.insert(id)),
                "{file}: panel {title} has a missing or repeated id"
            );
            for key in ["x", "y", "w", "h"] {
                assert!(
                    p["gridPos"][key].is_u64(),
                    "{file}: panel {title} has no gridPos.{key}"
                );
            }
            let ds = p["datasource"]["uid"].as_str().unwrap_or_default();
            assert!(
                datasources.contains(ds),
                "{file}: panel {title} uses datasource {ds:?}, not provisioned"
            );
            let targets = p["targets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            assert!(!targets.is_empty(), "{file}: panel {title} has no query");
            for t in targets {
                assert!(
                    t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                    "{file}: panel {title} has an empty query"
                );
                assert!(
                    t["refId"].is_string(),
                    "{file}: panel {title} has a target without refId"
                );
                let tds = t["datasource"]["uid"].as_str().unwrap_or(ds);
                assert!(
                    datasources.contains(tds),
                    "{file}: panel {title} target uses datasource {tds:?}"
                );
            }
        }
        for v in d["templating"]["list"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if v["type"] == "query" {
                let ds = v["datasource"]["uid"].as_str().unwrap_or_default();
                assert!(
                    datasources.contains(ds),
                    "{file}: variable {} uses datasource {ds:?}",
                    v["name"]
                );
            }
        }
    }
}

#[test]
fn the_required_panels_exist() {
    let all: Vec<(String, String)> = dashboards()
        .values()
        .flat_map(|d| {
            panels(d)
                .into_iter()
                .map(|p| {
                    (
                        p["title"].as_str().unwrap_or_default().to_owned(),
                        exprs(p).join("\n"),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for metric in [
        "trackwire_endpoint_breaker_state",
        "trackwire_endpoint_at_risk",
        "trackwire_endpoint_queue_depth",
        "trackwire_kafka_consumer_lag",
        "trackwire_dlq_publishes_total",
        "trackwire_delivery_end_to_end_seconds_bucket",
    ] {
        assert!(
            all.iter().any(|(_, e)| e.contains(metric)),
            "no panel queries {metric}"
        );
    }
    let partners = &dashboards()["partners.json"];
    let vars: Vec<&str> = partners["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(
        vars.contains(&"partner"),
        "the partner dashboard has no partner variable"
    );
}

#[test]
fn dashboards_and_rules_use_only_catalogued_metrics() {
    let rules = read("grafana/alerts/trackwire.rules.yml");
    let mut used: Vec<(String, String)> = metric_names(&rules)
        .into_iter()
        .map(|n| ("rules".to_owned(), n))
        .collect();
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for e in exprs(p) {
                used.extend(metric_names(e).into_iter().map(|n| (file.clone(), n)));
            }
        }
    }
    for (whence, name) in used {
        assert!(
            catalogued(&name),
            "{whence} uses {name}, which is not in the catalogue"
        );
    }
}

#[test]
fn every_dashboard_query_parses() {
    // promtool has no offline query parser, but it parses rule expressions:
    // each panel query becomes a recording rule in a scratch file.
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    for (file, d) in dashboards() {
        for (i, e) in dashboards_exprs(&d).into_iter().enumerate() {
            let expr = e
                .replace("$__rate_interval", "5m")
                .replace("$partner", ".*")
                .replace("$endpoint", ".*");
            let record = format!("dashboard:{}:{i}", file.trim_end_matches(".json"));
            rules.push_str(&format!(
                "      - record: {record}\n        expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
        }
    }
    let dir = std::env::temp_dir().join(format!("trackwire-dashboards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dashboards.rules.yml"), rules).unwrap();
    run_tool(
        "promtool",
        &["check", "rules", "dashboards.rules.yml"],
        &dir,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn dashboards_exprs(d: &Value) -> Vec<String> {
    panels(d)
        .into_iter()
        .flat_map(|p| exprs(p).into_iter().map(str::to_owned))
        .collect()
}

#[test]
fn alert_rules_check_and_their_unit_tests_pass() {
    let dir = repo("grafana/alerts");
    run_tool("promtool", &["check", "rules", "trackwire.rules.yml"], &dir);
    run_tool(
        "promtool",
        &["test", "rules", "trackwire.rules.test.yml"],
        &dir,
    );
}

#[test]
fn every_alert_has_a_unit_test() {
    let rules = read("grafana/alerts/trackwire.rules.yml");
    let tests = read("grafana/alerts/trackwire.rules.test.yml");
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    assert!(alerts.len() >= 5, "{alerts:?}");
    for alert in alerts {
        let cases: Vec<&str> = tests
            .lines()
            .filter(|l| l.trim() == format!("alertname: {alert}"))
            .collect();
        // At least: not yet firing, firing, resolved.
        assert!(
            cases.len() >= 3,
            "{alert} is tested at {} times, not fired and resolved",
            cases.len()
        );
    }
}

#[test]
fn alertmanager_config_is_valid() {
    // amtool ships in prometheus-alertmanager (installed by .ci/run).
    run_tool(
        "amtool",
        &["check-config", "alertmanager/alertmanager.yml"],
        &repo("grafana"),
    );
}

#[test]
fn docs_catalogue_matches_the_code() {
    let doc = read("docs/metrics.md");
    let mut documented = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `trackwire_")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let labels: Vec<String> = if cells[2] == "(none)" {
            Vec::new()
        } else {
            cells[2].split(',').map(|l| l.trim().to_owned()).collect()
        };
        assert!(
            documented
                .insert(name.clone(), (cells[1].to_owned(), labels))
                .is_none(),
            "{name} documented twice"
        );
    }
    let code: BTreeMap<String, (String, Vec<String>)> = CATALOGUE
        .iter()
        .map(|m| {
            (
                m.name.to_owned(),
                (
                    m.kind.as_str().to_owned(),
                    m.labels.iter().map(|l| (*l).to_owned()).collect(),
                ),
            )
        })
        .collect();
    assert_eq!(
        documented, code,
        "docs/metrics.md and src/telemetry/catalogue.rs disagree"
    );
}

#[test]
fn metrics_are_written_only_by_typed_events() {
    // Every metric goes through src/telemetry/events, whose names all come
    // from the catalogue; a macro call elsewhere would bypass both.
    let mut offenders = Vec::new();
    let mut stack = vec![repo("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let in_events = path.starts_with(repo("src/telemetry/events"));
            for (n, line) in text.lines().enumerate() {
                for mac in [
                    "metrics::counter!(",
                    "metrics::gauge!(",
                    "metrics::histogram!(",
                ] {
                    let Some(at) = line.find(mac) else { continue };
                    let rest = line[at + mac.len()..].trim_start();
                    let by_catalogue = rest.is_empty()
                        || rest.split('.').next().is_some_and(|c| {
                            c.chars()
                                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                        });
                    let allowed =
                        (in_events && by_catalogue) || path.ends_with("telemetry/exporter.rs");
                    if !allowed {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "metrics written outside the typed events:\n{}",
        offenders.join("\n")
    );
}
