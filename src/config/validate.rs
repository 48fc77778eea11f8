//! Semantic checks that the types alone cannot express.

use std::time::Duration;

use super::{duration, Config, ConfigError};

/// The event type names `cdc.status_map` may map to. Kept as strings here so
/// configuration does not depend on the schema module; a test there can
/// assert the two lists agree.
pub const EVENT_TYPE_NAMES: [&str; 6] = [
    "order_confirmed",
    "out_for_delivery",
    "delivered",
    "delivery_failed",
    "return_initiated",
    "return_picked_up",
];

/// librdkafka properties that have a dedicated key, so that each setting has
/// exactly one place to live.
const DEDICATED_PROPERTIES: [(&str, &str); 3] = [
    ("bootstrap.servers", "kafka.brokers"),
    ("group.id", "kafka.group_id"),
    ("session.timeout.ms", "kafka.session_timeout"),
];

/// Kafka's limit on topic name length.
const MAX_TOPIC_LEN: usize = 249;

/// Upper bound of `kafka.batch_size`: one transaction should stay short
/// enough not to hold locks or memory for long.
const MAX_BATCH_SIZE: usize = 10_000;

/// Upper bound of `kafka.ingest_lanes`.
const MAX_INGEST_LANES: usize = 32;

impl Config {
    /// Checks values against each other and against their allowed ranges.
    /// The first problem found is returned, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_database()?;
        self.validate_kafka()?;
        self.validate_cdc()?;
        self.validate_delivery()?;
        self.validate_resilience()?;
        self.validate_metrics()?;
        self.validate_http()?;
        self.validate_sms()?;
        self.validate_schema()?;
        self.validate_dispatch()?;
        if self.log.level.trim().is_empty() {
            return Err(ConfigError::invalid(
                "log.level",
                "must not be empty; use a filter such as \"info\"",
            ));
        }
        Ok(())
    }

    /// `[database]`: URL scheme, pool size, timeout.
    fn validate_database(&self) -> Result<(), ConfigError> {
        let db = &self.database;
        if !(db.url.starts_with("postgres://") || db.url.starts_with("postgresql://")) {
            return Err(ConfigError::invalid(
                "database.url",
                "must start with postgres:// or postgresql://",
            ));
        }
        at_least_one("database.pool_size", db.pool_size)?;
        positive("database.connect_timeout", db.connect_timeout)
    }

    /// `[kafka]`: brokers, topics, batching, properties.
    fn validate_kafka(&self) -> Result<(), ConfigError> {
        let kafka = &self.kafka;
        if kafka.brokers.split(',').all(|b| b.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "kafka.brokers",
                "must list at least one host:port",
            ));
        }
        not_blank("kafka.group_id", &kafka.group_id)?;
        topic_name("kafka.cdc_topic", &kafka.cdc_topic)?;
        topic_name("kafka.dlq_topic", &kafka.dlq_topic)?;
        if kafka.cdc_topic == kafka.dlq_topic {
            return Err(ConfigError::invalid(
                "kafka.dlq_topic",
                format!(
                    "must differ from kafka.cdc_topic (both are {:?}): dead letters \
                     would be consumed as CDC records",
                    kafka.dlq_topic
                ),
            ));
        }
        positive("kafka.session_timeout", kafka.session_timeout)?;
        if !(1..=MAX_BATCH_SIZE).contains(&kafka.batch_size) {
            return Err(ConfigError::invalid(
                "kafka.batch_size",
                format!(
                    "must be between 1 and {MAX_BATCH_SIZE}, got {}",
                    kafka.batch_size
                ),
            ));
        }
        if !(1..=MAX_INGEST_LANES).contains(&kafka.ingest_lanes) {
            return Err(ConfigError::invalid(
                "kafka.ingest_lanes",
                format!(
                    "must be between 1 and {MAX_INGEST_LANES}, got {}",
                    kafka.ingest_lanes
                ),
            ));
        }
        if kafka.ingest_lanes >= self.database.pool_size {
            return Err(ConfigError::invalid(
                "kafka.ingest_lanes",
                format!(
                    "must be below database.pool_size ({}), got {}: each lane holds a \
                     connection while it writes, and deliveries need some too",
                    self.database.pool_size, kafka.ingest_lanes
                ),
            ));
        }
        for name in kafka.properties.keys() {
            let key = format!("kafka.properties.{name}");
            if name.trim().is_empty() {
                return Err(ConfigError::invalid(key, "property name is empty"));
            }
            if let Some((_, dedicated)) = DEDICATED_PROPERTIES.iter().find(|(p, _)| p == name) {
                return Err(ConfigError::invalid(
                    key,
                    format!("set {dedicated} instead"),
                ));
            }
        }
        Ok(())
    }

    /// `[cdc]`: status map targets and required columns.
    fn validate_cdc(&self) -> Result<(), ConfigError> {
        let cdc = &self.cdc;
        if cdc.status_map.is_empty() {
            return Err(ConfigError::invalid(
                "cdc.status_map",
                "maps no status, so no event would ever be emitted",
            ));
        }
        for (status, event_type) in &cdc.status_map {
            if !EVENT_TYPE_NAMES.contains(&event_type.as_str()) {
                return Err(ConfigError::invalid(
                    format!("cdc.status_map.{status}"),
                    format!(
                        "unknown event type {event_type:?}; valid event types are {}",
                        EVENT_TYPE_NAMES.join(", ")
                    ),
                ));
            }
        }
        let columns = &cdc.columns;
        not_blank("cdc.columns.order_id", &columns.order_id)?;
        not_blank("cdc.columns.partner_id", &columns.partner_id)?;
        not_blank("cdc.columns.status", &columns.status)
    }

    /// `[delivery]`: schedule, jitter, limits, allowlist.
    fn validate_delivery(&self) -> Result<(), ConfigError> {
        let delivery = &self.delivery;
        if delivery.retry_schedule.is_empty() {
            return Err(ConfigError::invalid(
                "delivery.retry_schedule",
                "must list at least one retry wait, e.g. [\"30s\", \"2m\", \"8m\"]",
            ));
        }
        for (i, wait) in delivery.retry_schedule.iter().enumerate() {
            positive(&format!("delivery.retry_schedule[{i}]"), *wait)?;
        }
        // `contains` is false for NaN, so NaN is rejected too.
        if !(0.0..=1.0).contains(&delivery.jitter) {
            return Err(ConfigError::invalid(
                "delivery.jitter",
                format!(
                    "must be between 0.0 and 1.0 (a fraction: 0.2 = +-20%), got {}",
                    delivery.jitter
                ),
            ));
        }
        positive("delivery.attempt_timeout", delivery.attempt_timeout)?;
        positive("delivery.connect_timeout", delivery.connect_timeout)?;
        at_least_one("delivery.mailbox_capacity", delivery.mailbox_capacity)?;
        at_least_one("delivery.max_in_flight", delivery.max_in_flight)?;
        at_least_one(
            "delivery.max_attempts_in_flight",
            delivery.max_attempts_in_flight,
        )?;
        positive("delivery.max_age", delivery.max_age)?;
        positive("delivery.retry_after_max", delivery.retry_after_max)?;
        positive("delivery.refill_interval", delivery.refill_interval)?;
        for (i, host) in delivery.allow_insecure_hosts.iter().enumerate() {
            let bare = !host.is_empty()
                && !host.contains("://")
                && !host.contains('/')
                && !host.contains(char::is_whitespace);
            if !bare {
                return Err(ConfigError::invalid(
                    format!("delivery.allow_insecure_hosts[{i}]"),
                    format!("{host:?} is not a bare host name or IP address (no scheme, path or spaces)"),
                ));
            }
        }
        Ok(())
    }

    /// `[metrics]`: its listener must not collide with the admin API's.
    fn validate_metrics(&self) -> Result<(), ConfigError> {
        let (metrics, http) = (self.metrics.listen, self.http.listen);
        // Port 0 asks the OS for a free port, so two of them never collide.
        if metrics == http && metrics.port() != 0 {
            return Err(ConfigError::invalid(
                "metrics.listen",
                format!("must differ from http.listen (both are {metrics})"),
            ));
        }
        Ok(())
    }
}

/// Shortest operator token accepted: a short token can be guessed.
pub const MIN_OPERATOR_TOKEN_LEN: usize = 32;

impl Config {
    /// `[sms]`: URLs that parse, a usable callback token, a sane pace.
    fn validate_sms(&self) -> Result<(), ConfigError> {
        let sms = &self.sms;
        for (key, value) in [
            ("sms.kannel_sendsms_url", &sms.kannel_sendsms_url),
            ("sms.callback_base_url", &sms.callback_base_url),
        ] {
            let ok = url::Url::parse(value)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                return Err(ConfigError::invalid(key, "must be an http(s) URL"));
            }
        }
        if let Some(token) = &sms.callback_token {
            if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ConfigError::invalid(
                    "sms.callback_token",
                    "must be at least 16 letters or digits (or \"\" to refuse callbacks)",
                ));
            }
        }
        if sms.retry_schedule.iter().any(Duration::is_zero) {
            return Err(ConfigError::invalid(
                "sms.retry_schedule",
                "each wait must be above 0",
            ));
        }
        if sms.rate_per_partner == 0 || sms.concurrency == 0 || sms.round_interval.is_zero() {
            let key = if sms.rate_per_partner == 0 {
                "sms.rate_per_partner"
            } else if sms.concurrency == 0 {
                "sms.concurrency"
            } else {
                "sms.round_interval"
            };
            return Err(ConfigError::invalid(key, "must be above 0"));
        }
        Ok(())
    }

    /// `[http]`: the operator token, when set, must be long enough.
    fn validate_http(&self) -> Result<(), ConfigError> {
        let ttl = self.http.portal_link_ttl;
        if ttl < Duration::from_secs(60) || ttl > Duration::from_secs(7 * 24 * 3600) {
            return Err(ConfigError::invalid(
                "http.portal_link_ttl",
                "must be from 1m to 7d: a sign-in link is a credential",
            ));
        }
        if let Some(base) = &self.http.tracking_page_base_url {
            let rest = base
                .strip_prefix("https://")
                .or_else(|| base.strip_prefix("http://"));
            if !rest.is_some_and(|r| !r.is_empty() && !r.contains(['?', '#', ' '])) {
                return Err(ConfigError::invalid(
                    "http.tracking_page_base_url",
                    "must be an http(s) URL without query or fragment, e.g. https://track.example.com",
                ));
            }
        }
        match &self.http.operator_token {
            Some(token) if token.chars().count() < MIN_OPERATOR_TOKEN_LEN => {
                Err(ConfigError::invalid(
                    "http.operator_token",
                    format!(
                        "must be at least {MIN_OPERATOR_TOKEN_LEN} characters (or \"\" to \
                         disable operator access); e.g. the output of `openssl rand -hex 32`"
                    ),
                ))
            }
            Some(token) if token.chars().any(char::is_whitespace) => Err(ConfigError::invalid(
                "http.operator_token",
                "must not contain whitespace",
            )),
            _ => Ok(()),
        }
    }
}

impl Config {
    /// `[schema]`: the tracking URL template.
    fn validate_schema(&self) -> Result<(), ConfigError> {
        if let Some(template) = &self.schema.tracking_url_template {
            crate::schema::TrackingUrlTemplate::parse(template)
                .map_err(|e| ConfigError::invalid("schema.tracking_url_template", e.to_string()))?;
        }
        Ok(())
    }

    /// `[dispatch]`: URL scheme, deadline within budget.
    fn validate_dispatch(&self) -> Result<(), ConfigError> {
        let dispatch = &self.dispatch;
        if let Some(url) = &dispatch.url {
            // The client is built without TLS: inside the cluster the call is
            // plaintext HTTP/2 (or goes through a sidecar that adds mTLS).
            if !url.starts_with("http://") || url.len() <= "http://".len() {
                return Err(ConfigError::invalid(
                    "dispatch.url",
                    format!(
                        "{url:?} must be http://host:port (plaintext gRPC), or \"\" to disable"
                    ),
                ));
            }
        }
        positive("dispatch.deadline", dispatch.deadline)?;
        positive("dispatch.budget", dispatch.budget)?;
        if dispatch.budget < dispatch.deadline {
            return Err(ConfigError::invalid(
                "dispatch.budget",
                format!(
                    "must be at least dispatch.deadline ({}), got {}",
                    duration::format(dispatch.deadline),
                    duration::format(dispatch.budget)
                ),
            ));
        }
        Ok(())
    }
}

/// Rejects a zero duration at `key`.
impl Config {
    /// `[breaker]`, `[health]`, `[cluster]`.
    fn validate_resilience(&self) -> Result<(), ConfigError> {
        let b = &self.breaker;
        if b.consecutive_failures == 0 {
            return Err(ConfigError::invalid(
                "breaker.consecutive_failures",
                "must be at least 1",
            ));
        }
        fraction("breaker.failure_rate", b.failure_rate)?;
        at_least_one("breaker.window", b.window)?;
        at_least_one("breaker.min_attempts", b.min_attempts)?;
        positive("breaker.cooldown", b.cooldown)?;
        if b.max_cooldown < b.cooldown {
            return Err(ConfigError::invalid(
                "breaker.max_cooldown",
                "must not be shorter than breaker.cooldown",
            ));
        }
        let h = &self.health;
        positive("health.ack_window", h.ack_window)?;
        fraction("health.at_risk_threshold", h.at_risk_threshold)?;
        fraction("health.clear_margin", h.clear_margin)?;
        positive("health.at_risk_open_after", h.at_risk_open_after)?;
        positive("health.snapshot_interval", h.snapshot_interval)?;
        let c = &self.cluster;
        if !(1..=4096).contains(&c.shards) {
            return Err(ConfigError::invalid(
                "cluster.shards",
                format!("must be between 1 and 4096, got {}", c.shards),
            ));
        }
        positive("cluster.heartbeat", c.heartbeat)?;
        if c.heartbeat * 2 > c.lease {
            return Err(ConfigError::invalid(
                "cluster.lease",
                "must be at least twice cluster.heartbeat, or leases lapse between renewals",
            ));
        }
        Ok(())
    }
}

fn fraction(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(ConfigError::invalid(
            key,
            format!("must be a fraction between 0 and 1, got {value}"),
        ));
    }
    Ok(())
}

fn positive(key: &str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::invalid(
            key,
            format!("must be greater than 0, got {}", duration::format(value)),
        ));
    }
    Ok(())
}

/// Rejects a zero count at `key`.
fn at_least_one(key: &str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "must be at least 1"));
    }
    Ok(())
}

/// Rejects an empty or whitespace-only string at `key`.
fn not_blank(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    Ok(())
}

/// Checks Kafka's topic name rules, so a typo fails at start-up instead of
/// as a broker error on first use.
fn topic_name(key: &str, topic: &str) -> Result<(), ConfigError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty()
        || topic.len() > MAX_TOPIC_LEN
        || topic == "."
        || topic == ".."
        || !topic.chars().all(legal)
    {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{topic:?} is not a valid Kafka topic name (1 to {MAX_TOPIC_LEN} characters \
                 of a-z, A-Z, 0-9, '.', '_', '-')"
            ),
        ));
    }
    Ok(())
}
