//! Loading end to end: layers, environment, errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// A config file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "trackwire-config-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, content).expect("write temp config");
        TempFile(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn defaults() -> Config {
    load_from(None, env(&[])).expect("defaults load")
}

fn invalid(result: Result<Config, ConfigError>) -> (String, String) {
    match result {
        Err(ConfigError::Invalid { key, message }) => (key, message),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn defaults_load_and_validate() {
    let config = defaults();
    assert_eq!(
        config.database.url,
        "postgres://trackwire:trackwire@127.0.0.1:5432/trackwire"
    );
    assert_eq!(config.database.pool_size, 16);
    assert_eq!(config.database.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.kafka.brokers, "127.0.0.1:9092");
    assert_eq!(
        config.kafka.brokers_file.as_deref(),
        Some(Path::new(".trackwire/dev-broker"))
    );
    assert_eq!(config.kafka.group_id, "trackwire");
    assert_eq!(config.kafka.cdc_topic, "oms.orders");
    assert_eq!(config.kafka.dlq_topic, "trackwire.dead-letters");
    assert_eq!(config.kafka.session_timeout, Duration::from_secs(10));
    assert_eq!(config.kafka.batch_size, 500);
    assert_eq!(config.kafka.batch_linger, Duration::ZERO);
    assert_eq!(config.kafka.ingest_lanes, 1);
    assert!(config.kafka.properties.is_empty());
    assert!(config.cdc.emit_on_create);
    assert_eq!(config.cdc.status_map.len(), 6);
    assert_eq!(
        config.cdc.status_map["OUT_FOR_DELIVERY"],
        "out_for_delivery"
    );
    assert_eq!(config.cdc.columns.order_id, "id");
    assert_eq!(
        config.cdc.columns.occurred_at.as_deref(),
        Some("updated_at")
    );
    assert_eq!(
        config.cdc.columns.rider_phone.as_deref(),
        Some("rider_phone")
    );
    assert_eq!(
        config.delivery.retry_schedule,
        [30, 120, 480].map(Duration::from_secs)
    );
    assert_eq!(config.delivery.jitter, 0.2);
    assert_eq!(config.delivery.attempt_timeout, Duration::from_secs(10));
    assert_eq!(config.delivery.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.delivery.mailbox_capacity, 256);
    assert_eq!(config.delivery.max_in_flight, 16);
    assert_eq!(config.delivery.max_attempts_in_flight, 4096);
    assert_eq!(config.delivery.max_age, Duration::from_secs(24 * 3600));
    assert_eq!(config.delivery.retry_after_max, Duration::from_secs(3600));
    assert_eq!(config.delivery.refill_interval, Duration::from_millis(500));
    assert_eq!(config.delivery.response_excerpt_bytes, 1024);
    assert_eq!(config.delivery.workers, 0);
    assert!(config.delivery.allow_insecure_hosts.is_empty());
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
}

#[test]
fn every_status_map_default_names_a_known_event_type() {
    let mut mapped: Vec<&str> = defaults()
        .cdc
        .status_map
        .into_values()
        .map(|name| EVENT_TYPE_NAMES.iter().find(|n| **n == name).copied())
        .map(|name| name.expect("known event type"))
        .collect();
    mapped.sort_unstable();
    let mut all = EVENT_TYPE_NAMES.to_vec();
    all.sort_unstable();
    assert_eq!(mapped, all);
}

#[test]
fn file_overrides_defaults() {
    let file = TempFile::new(
        "file-overrides",
        r#"
            [database]
            pool_size = 4

            [delivery]
            retry_schedule = ["1s", "2s"]
            allow_insecure_hosts = ["localhost"]

            [cdc.status_map]
            SHIPPED = "out_for_delivery"
            RETURN_PICKED_UP = ""

            [cdc.columns]
            rider_phone = ""
            occurred_at = "status_changed_at"

            [log]
            format = "json"
        "#,
    );
    let config = load_from(Some(file.path()), env(&[])).expect("loads");
    assert_eq!(config.database.pool_size, 4);
    assert_eq!(config.database.connect_timeout, Duration::from_secs(5));
    assert_eq!(
        config.delivery.retry_schedule,
        [1, 2].map(Duration::from_secs)
    );
    assert_eq!(config.delivery.allow_insecure_hosts, ["localhost"]);
    assert_eq!(config.cdc.status_map["SHIPPED"], "out_for_delivery");
    assert_eq!(config.cdc.status_map["CONFIRMED"], "order_confirmed");
    assert!(!config.cdc.status_map.contains_key("RETURN_PICKED_UP"));
    assert_eq!(config.cdc.columns.rider_phone, None);
    assert_eq!(
        config.cdc.columns.occurred_at.as_deref(),
        Some("status_changed_at")
    );
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn env_overrides_file() {
    let file = TempFile::new(
        "env-overrides",
        "[database]\nurl = \"postgres://file@db/trackwire\"\npool_size = 4\n",
    );
    let config = load_from(
        Some(file.path()),
        env(&[
            ("TRACKWIRE_DATABASE__URL", "postgres://env@db/trackwire"),
            ("TRACKWIRE_DELIVERY__JITTER", "0"),
            ("TRACKWIRE_CDC__EMIT_ON_CREATE", "false"),
            ("TRACKWIRE_HTTP__LISTEN", "0.0.0.0:9000"),
            ("TRACKWIRE_CONFIG", "ignored.toml"),
            ("HOME", "/root"),
        ]),
    )
    .expect("loads");
    assert_eq!(config.database.url, "postgres://env@db/trackwire");
    assert_eq!(config.database.pool_size, 4);
    assert_eq!(config.delivery.jitter, 0.0);
    assert!(!config.cdc.emit_on_create);
    assert_eq!(config.http.listen.port(), 9000);
}

#[test]
fn retry_schedule_from_env_string() {
    let config = load_from(
        None,
        env(&[
            ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "100ms,200ms,300ms"),
            (
                "TRACKWIRE_DELIVERY__ALLOW_INSECURE_HOSTS",
                "localhost, 127.0.0.1",
            ),
        ]),
    )
    .expect("loads");
    assert_eq!(
        config.delivery.retry_schedule,
        [100, 200, 300].map(Duration::from_millis)
    );
    assert_eq!(
        config.delivery.allow_insecure_hosts,
        ["localhost", "127.0.0.1"]
    );
}

#[test]
fn an_empty_retry_schedule_from_env_is_rejected() {
    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "")]),
    ));
    assert_eq!(key, "delivery.retry_schedule");
    assert!(message.contains("at least one"), "{message}");
    assert!(
        message.ends_with("(set by TRACKWIRE_DELIVERY__RETRY_SCHEDULE)"),
        "{message}"
    );
}

#[test]
fn unknown_file_key_is_rejected_naming_it() {
    let file = TempFile::new("unknown-key", "[delivery]\nretry_shedule = [\"1s\"]\n");
    let (key, message) = invalid(load_from(Some(file.path()), env(&[])));
    assert_eq!(key, "delivery.retry_shedule");
    assert!(message.starts_with("unknown key (set in "), "{message}");
    assert!(
        message.contains("retry_schedule"),
        "lists valid keys: {message}"
    );

    let file = TempFile::new("unknown-section", "[databse]\nurl = \"x\"\n");
    let (key, _) = invalid(load_from(Some(file.path()), env(&[])));
    assert_eq!(key, "databse");
}

#[test]
fn unknown_trackwire_env_is_rejected() {
    let err = load_from(None, env(&[("TRACKWIRE_DATABASE_URL", "postgres://x")]))
        .expect_err("typo must not pass");
    match &err {
        ConfigError::UnknownEnv { var } => assert_eq!(var, "TRACKWIRE_DATABASE_URL"),
        other => panic!("expected UnknownEnv, got {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("environment variable TRACKWIRE_DATABASE_URL "));
}

#[test]
fn bad_duration_names_the_key() {
    let file = TempFile::new("bad-duration", "[delivery]\nattempt_timeout = \"10x\"\n");
    let err = load_from(Some(file.path()), env(&[])).expect_err("bad duration");
    let shown = err.to_string();
    let expected = "delivery.attempt_timeout: invalid duration \"10x\": \
                    expected a number followed by ms, s, m, h or d (set in ";
    assert!(shown.starts_with(expected), "{shown}");

    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "[\"1s\", \"2y\"]")]),
    ));
    assert_eq!(key, "delivery.retry_schedule[1]");
    assert!(message.contains("\"2y\""), "{message}");
}

#[test]
fn bad_status_map_value_names_the_key_and_lists_valid_names() {
    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_CDC__STATUS_MAP__SHIPPED", "shipped")]),
    ));
    assert_eq!(key, "cdc.status_map.SHIPPED");
    for name in EVENT_TYPE_NAMES {
        assert!(message.contains(name), "{message}");
    }
    assert!(
        message.ends_with("(set by TRACKWIRE_CDC__STATUS_MAP__SHIPPED)"),
        "{message}"
    );
}

#[test]
fn wrong_types_name_the_key() {
    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_DATABASE__POOL_SIZE", "many")]),
    ));
    assert_eq!(key, "database.pool_size");
    assert!(message.contains("\"many\""), "{message}");

    let file = TempFile::new("bad-format", "[log]\nformat = \"xml\"\n");
    let (key, message) = invalid(load_from(Some(file.path()), env(&[])));
    assert_eq!(key, "log.format");
    assert!(
        message.contains("text") && message.contains("json"),
        "{message}"
    );
}

#[test]
fn toml_syntax_errors_name_the_file_and_line() {
    let file = TempFile::new("syntax", "[database]\npool_size = = 3\n");
    match load_from(Some(file.path()), env(&[])) {
        Err(ConfigError::Parse { path, message }) => {
            assert_eq!(path, file.path());
            assert!(message.contains("line 2"), "{message}");
        }
        other => panic!("expected Parse, got {other:?}"),
    }
}

#[test]
fn missing_file_error_names_the_path() {
    let path = Path::new("/nonexistent/trackwire.toml");
    let err = load_from(Some(path), env(&[])).expect_err("missing file");
    assert!(matches!(&err, ConfigError::Read { path: p, .. } if p == path));
    assert!(
        err.to_string().contains("/nonexistent/trackwire.toml"),
        "{err}"
    );
}

#[test]
fn debug_hides_the_database_password() {
    let config = load_from(
        None,
        env(&[
            (
                "TRACKWIRE_DATABASE__URL",
                "postgres://app:hunter2@db/trackwire",
            ),
            ("TRACKWIRE_KAFKA__PROPERTIES__SASL_PASSWORD", "hunter3"),
        ]),
    )
    .expect("loads");
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("hunter3"), "{shown}");
    assert!(shown.contains("postgres://app:***@db/trackwire"), "{shown}");
    assert_eq!(config.database.url, "postgres://app:hunter2@db/trackwire");
}

#[test]
fn properties_env_key_mapping() {
    let config = load_from(
        None,
        env(&[("TRACKWIRE_KAFKA__PROPERTIES__FETCH_WAIT_MAX_MS", "10")]),
    )
    .expect("loads");
    let expected = [("fetch.wait.max.ms".to_owned(), "10".to_owned())];
    assert_eq!(config.kafka.properties, expected.into_iter().collect());
}

#[test]
fn properties_with_a_dedicated_key_are_refused() {
    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_KAFKA__PROPERTIES__GROUP_ID", "other")]),
    ));
    assert_eq!(key, "kafka.properties.group.id");
    assert!(message.contains("kafka.group_id"), "{message}");
}

#[test]
fn semantic_checks_name_the_key() {
    let cases = [
        ("TRACKWIRE_DATABASE__URL", "mysql://db", "database.url"),
        ("TRACKWIRE_DATABASE__POOL_SIZE", "0", "database.pool_size"),
        ("TRACKWIRE_KAFKA__BATCH_SIZE", "10001", "kafka.batch_size"),
        ("TRACKWIRE_KAFKA__INGEST_LANES", "0", "kafka.ingest_lanes"),
        ("TRACKWIRE_KAFKA__INGEST_LANES", "16", "kafka.ingest_lanes"),
        (
            "TRACKWIRE_KAFKA__DLQ_TOPIC",
            "oms.orders",
            "kafka.dlq_topic",
        ),
        ("TRACKWIRE_KAFKA__CDC_TOPIC", "", "kafka.cdc_topic"),
        (
            "TRACKWIRE_KAFKA__CDC_TOPIC",
            "oms orders",
            "kafka.cdc_topic",
        ),
        ("TRACKWIRE_DELIVERY__JITTER", "1.5", "delivery.jitter"),
        ("TRACKWIRE_DELIVERY__JITTER", "nan", "delivery.jitter"),
        (
            "TRACKWIRE_DELIVERY__RETRY_SCHEDULE",
            "1s,0s",
            "delivery.retry_schedule[1]",
        ),
        (
            "TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT",
            "0",
            "delivery.attempt_timeout",
        ),
        (
            "TRACKWIRE_DELIVERY__MAILBOX_CAPACITY",
            "0",
            "delivery.mailbox_capacity",
        ),
        (
            "TRACKWIRE_DELIVERY__MAX_IN_FLIGHT",
            "0",
            "delivery.max_in_flight",
        ),
        (
            "TRACKWIRE_DELIVERY__REFILL_INTERVAL",
            "0ms",
            "delivery.refill_interval",
        ),
        (
            "TRACKWIRE_DELIVERY__ALLOW_INSECURE_HOSTS",
            "http://localhost",
            "delivery.allow_insecure_hosts[0]",
        ),
        (
            "TRACKWIRE_CDC__COLUMNS__ORDER_ID",
            "",
            "cdc.columns.order_id",
        ),
        ("TRACKWIRE_LOG__LEVEL", " ", "log.level"),
    ];
    for (var, value, expected_key) in cases {
        let (key, message) = invalid(load_from(None, env(&[(var, value)])));
        assert_eq!(key, expected_key, "{var}={value:?}: {message}");
        assert!(message.ends_with(&format!("(set by {var})")), "{message}");
    }
}

#[test]
fn brokers_file_replaces_brokers_only_when_it_exists() {
    let mut kafka = defaults().kafka;
    kafka.brokers_file = Some(PathBuf::from("/nonexistent/dev-broker"));
    assert_eq!(
        kafka.bootstrap_servers().ok().as_deref(),
        Some("127.0.0.1:9092")
    );

    let file = TempFile::new("dev-broker", "127.0.0.1:39092\n");
    kafka.brokers_file = Some(file.path().to_owned());
    assert_eq!(
        kafka.bootstrap_servers().ok().as_deref(),
        Some("127.0.0.1:39092")
    );

    let empty = TempFile::new("dev-broker-empty", " \n");
    kafka.brokers_file = Some(empty.path().to_owned());
    assert!(matches!(
        kafka.bootstrap_servers(),
        Err(ConfigError::Invalid { key, .. }) if key == "kafka.brokers_file"
    ));

    kafka.brokers_file = None;
    assert_eq!(
        kafka.bootstrap_servers().ok().as_deref(),
        Some("127.0.0.1:9092")
    );
}

#[test]
fn an_empty_brokers_file_setting_disables_it() {
    let config = load_from(None, env(&[("TRACKWIRE_KAFKA__BROKERS_FILE", "")])).expect("loads");
    assert_eq!(config.kafka.brokers_file, None);
}

#[test]
fn metrics_listen_defaults_and_must_not_share_the_admin_port() {
    assert_eq!(defaults().metrics.listen.to_string(), "127.0.0.1:9464");
    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_METRICS__LISTEN", "127.0.0.1:8080")]),
    ));
    assert_eq!(key, "metrics.listen");
    assert!(message.contains("http.listen"), "{message}");
}

#[test]
fn the_operator_token_is_off_by_default_and_set_from_the_environment() {
    assert_eq!(defaults().http.operator_token, None);
    let token = "0123456789abcdef0123456789abcdef";
    let config = load_from(None, env(&[("TRACKWIRE_HTTP__OPERATOR_TOKEN", token)])).unwrap();
    assert_eq!(config.http.operator_token.as_deref(), Some(token));
    assert!(!format!("{config:?}").contains(token));
}

#[test]
fn a_short_operator_token_is_rejected_naming_the_key() {
    let (key, message) = invalid(load_from(
        None,
        env(&[("TRACKWIRE_HTTP__OPERATOR_TOKEN", "hunter2")]),
    ));
    assert_eq!(key, "http.operator_token");
    assert!(message.contains("at least 32"), "{message}");
}

#[test]
fn schema_and_dispatch_defaults_leave_both_features_off_and_date_v2() {
    let config = defaults();
    assert_eq!(config.schema.tracking_url_template, None);
    assert_eq!(
        config.schema.v2_released,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    );
    assert_eq!(config.dispatch.url, None);
    assert!(config.dispatch.deadline <= config.dispatch.budget);
}

#[test]
fn schema_and_dispatch_checks_name_the_key() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[(
                "TRACKWIRE_SCHEMA__TRACKING_URL_TEMPLATE",
                "https://t.example/",
            )],
            "schema.tracking_url_template",
        ),
        (
            &[("TRACKWIRE_SCHEMA__V2_RELEASED", "December 2026")],
            "schema.v2_released",
        ),
        (
            &[("TRACKWIRE_DISPATCH__URL", "https://dispatch:50051")],
            "dispatch.url",
        ),
        (&[("TRACKWIRE_DISPATCH__URL", "http://")], "dispatch.url"),
        (
            &[("TRACKWIRE_DISPATCH__DEADLINE", "0s")],
            "dispatch.deadline",
        ),
        (
            &[
                ("TRACKWIRE_DISPATCH__DEADLINE", "5s"),
                ("TRACKWIRE_DISPATCH__BUDGET", "1s"),
            ],
            "dispatch.budget",
        ),
    ];
    for (vars, expected_key) in cases {
        let (key, message) = invalid(load_from(None, env(vars)));
        assert_eq!(key, expected_key, "{vars:?}: {message}");
    }
    let config = load_from(
        None,
        env(&[
            ("TRACKWIRE_DISPATCH__URL", "http://dispatch:50051"),
            (
                "TRACKWIRE_SCHEMA__TRACKING_URL_TEMPLATE",
                "https://track.example.com/{order_id}",
            ),
        ]),
    )
    .expect("valid");
    assert_eq!(
        config.dispatch.url.as_deref(),
        Some("http://dispatch:50051")
    );
}

#[test]
fn tracking_pages_default_to_the_listener_and_take_a_public_base_url() {
    let config = defaults();
    assert_eq!(config.http.tracking_page_base_url, None);
    assert_eq!(
        config.http.tracking_pages().url("tok"),
        "http://127.0.0.1:8080/track/tok"
    );
    let config = load_from(
        None,
        env(&[(
            "TRACKWIRE_HTTP__TRACKING_PAGE_BASE_URL",
            "https://track.example.com/",
        )]),
    )
    .expect("valid");
    assert_eq!(
        config.http.tracking_pages().url("tok"),
        "https://track.example.com/track/tok"
    );
    for bad in [
        "track.example.com",
        "https://",
        "https://t.example/?x=1",
        "ftp://t",
    ] {
        let (key, message) = invalid(load_from(
            None,
            env(&[("TRACKWIRE_HTTP__TRACKING_PAGE_BASE_URL", bad)]),
        ));
        assert_eq!(key, "http.tracking_page_base_url", "{bad}: {message}");
    }
}
