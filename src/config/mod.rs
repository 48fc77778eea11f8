//! Service configuration: typed sections loaded in layers.
//!
//! [`load`] starts from the built-in defaults (`config.toml` at the repository
//! root, compiled in), merges the optional config file over them, then the
//! `TRACKWIRE_` environment variables, deserializes the result into
//! [`Config`] and validates it once. Every error names the key, file or
//! variable to fix; see [`ConfigError`].
//!
//! # Layout
//! - `layers`: parse, key-check and deep-merge the untyped TOML layers.
//! - `env`: map `TRACKWIRE_<SECTION>__<KEY>` variables onto keys.
//! - [`duration`]: the `"500ms"` / `"30s"` / `"2m"` duration format.
//! - `validate`: semantic checks that types cannot express.
//! - `redact`: `Debug` output that leaves secrets out.

pub mod duration;

mod de;
mod env;
mod error;
mod layers;
mod redact;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::{Table, Value};

pub use error::ConfigError;
pub use validate::EVENT_TYPE_NAMES;

/// Environment variable naming the config file. It shares the `TRACKWIRE_`
/// prefix but is not a key, so the loader skips it; the command line reads it.
pub const CONFIG_FILE_ENV: &str = "TRACKWIRE_CONFIG";

/// The documented defaults, compiled in as the base layer. Every key appears
/// here, so this text is also the list of valid keys.
pub const DEFAULTS: &str = include_str!("../../config.toml");

/// Name shown for the built-in defaults in the (never expected) case that
/// they fail to parse.
const DEFAULTS_NAME: &str = "config.toml (built in)";

/// The whole service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// PostgreSQL: the store of configuration, events, deliveries, attempts.
    pub database: DatabaseConfig,
    /// Kafka: the CDC input and the dead-letter output.
    pub kafka: KafkaConfig,
    /// How OMS change records map onto events.
    pub cdc: CdcConfig,
    /// Webhook delivery: retries, timeouts, concurrency.
    pub delivery: DeliveryConfig,
    /// The payload versions: tracking URLs and v1's retirement.
    pub schema: SchemaConfig,
    /// The dispatch service, asked for the rider and OTP of out_for_delivery events.
    pub dispatch: DispatchConfig,
    /// The admin HTTP API.
    pub http: HttpConfig,
    /// The Prometheus scrape endpoint.
    pub metrics: MetricsConfig,
    /// Logging.
    pub log: LogConfig,
    /// The per-endpoint circuit breaker.
    pub breaker: BreakerConfig,
    /// ACK-rate tracking and the at-risk flag.
    pub health: HealthConfig,
    /// Sharing endpoints between several running processes.
    pub cluster: ClusterConfig,
    /// Templated SMS to end customers through Kannel.
    pub sms: SmsConfig,
}

/// The built-in SMS: where Kannel is, how the outbox is paced and retried.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// Whether this process runs the outbox sender. The outbox is written
    /// whatever this says, so turning it on later sends what waited.
    pub enabled: bool,
    /// Kannel smsbox's `sendsms` URL.
    pub kannel_sendsms_url: String,
    /// smsbox `sendsms-user` username.
    pub kannel_username: String,
    /// Its password.
    pub kannel_password: String,
    /// Kannel `smsc-id` to route through; `None` (`""`) lets Kannel choose.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub kannel_smsc_id: Option<String>,
    /// trackwire's base URL as Kannel reaches it, for delivery reports.
    pub callback_base_url: String,
    /// Secret that Kannel's delivery reports and STOP replies carry;
    /// `None` (`""`) refuses every callback.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub callback_token: Option<String>,
    /// Wait before each retry of a send; its length is the number of retries.
    #[serde(deserialize_with = "duration::deserialize_list")]
    pub retry_schedule: Vec<Duration>,
    /// SMS per second per partner, at most.
    pub rate_per_partner: u32,
    /// Time between outbox rounds.
    #[serde(deserialize_with = "duration::deserialize")]
    pub round_interval: Duration,
    /// Limit on one sendsms call.
    #[serde(deserialize_with = "duration::deserialize")]
    pub send_timeout: Duration,
    /// Sends in flight at once.
    pub concurrency: usize,
}

impl SmsConfig {
    /// The most SMS of one partner a round may claim: the rate spread over
    /// rounds, at least 1.
    pub fn per_partner_per_round(&self) -> i64 {
        let per_round = f64::from(self.rate_per_partner) * self.round_interval.as_secs_f64();
        (per_round.floor() as i64).max(1)
    }
}

/// When an endpoint's circuit breaker opens and how it recovers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Opens after this many failed attempts in a row (at least 1).
    pub consecutive_failures: u32,
    /// Or when this share of the last `window` attempts failed (0..=1).
    pub failure_rate: f64,
    /// Recent attempts considered for the failure rate (at least 1).
    pub window: usize,
    /// Fewest attempts in the window before the rate counts (at least 1).
    pub min_attempts: usize,
    /// First cool-down before a half-open probe.
    #[serde(deserialize_with = "duration::deserialize")]
    pub cooldown: Duration,
    /// Longest cool-down; it doubles after each failed probe up to this.
    #[serde(deserialize_with = "duration::deserialize")]
    pub max_cooldown: Duration,
}

/// Rolling ACK rate and the at-risk flag.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Window of the rolling ACK rate.
    #[serde(deserialize_with = "duration::deserialize")]
    pub ack_window: Duration,
    /// At-risk when the ACK rate falls below this (0..=1) ...
    pub at_risk_threshold: f64,
    /// ... over at least this many attempts in the window.
    pub at_risk_min_attempts: u64,
    /// Or when the breaker has been open this long.
    #[serde(deserialize_with = "duration::deserialize")]
    pub at_risk_open_after: Duration,
    /// The flag clears when the rate is back above threshold + margin.
    pub clear_margin: f64,
    /// How often each endpoint writes its health to the store.
    #[serde(deserialize_with = "duration::deserialize")]
    pub snapshot_interval: Duration,
}

/// Several processes share the endpoints through leases on shards.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Shards the endpoints are spread over (1..=4096); every process must
    /// use the same number.
    pub shards: u32,
    /// A shard whose lease is not renewed for this long passes to another
    /// process.
    #[serde(deserialize_with = "duration::deserialize")]
    pub lease: Duration,
    /// How often leases are renewed and rebalanced (well below `lease`).
    #[serde(deserialize_with = "duration::deserialize")]
    pub heartbeat: Duration,
}

/// PostgreSQL connection settings. `Debug` masks the password in `url`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connection URL, `postgres://` or `postgresql://`; may hold a password.
    pub url: String,
    /// Maximum pooled connections (at least 1).
    pub pool_size: usize,
    /// Limit on establishing one connection.
    #[serde(deserialize_with = "duration::deserialize")]
    pub connect_timeout: Duration,
}

/// Kafka connection, topics and batching. `Debug` masks secret-looking
/// entries of `properties`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated bootstrap list; see [`KafkaConfig::bootstrap_servers`]
    /// for how `brokers_file` can replace it.
    pub brokers: String,
    /// File whose trimmed content, when the file exists, replaces `brokers`.
    /// `trackwire dev-broker` writes it. `None` (`""` in TOML) disables it.
    #[serde(deserialize_with = "de::empty_as_no_path")]
    pub brokers_file: Option<PathBuf>,
    /// Consumer group id.
    pub group_id: String,
    /// Topic of OMS order change events.
    pub cdc_topic: String,
    /// Topic dead deliveries are published to.
    pub dlq_topic: String,
    /// Consumer group session timeout.
    #[serde(deserialize_with = "duration::deserialize")]
    pub session_timeout: Duration,
    /// Maximum records persisted in one transaction (1..=10000).
    pub batch_size: usize,
    /// How long to wait to fill a batch before persisting it.
    #[serde(deserialize_with = "duration::deserialize")]
    pub batch_linger: Duration,
    /// Batches written at once, each from its own partitions (1..=32).
    pub ingest_lanes: usize,
    /// Extra librdkafka properties by their dotted names, passed as given.
    pub properties: BTreeMap<String, String>,
}

/// How CDC records of the OMS orders table become events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdcConfig {
    /// Whether an insert (op `c` or snapshot `r`) with a mapped status emits
    /// that status's event; when false only status changes emit.
    pub emit_on_create: bool,
    /// OMS status value -> event type name (one of [`EVENT_TYPE_NAMES`]).
    /// Statuses not in the map emit nothing. Entries set to `""` in a layer
    /// are dropped, which is how a file unmaps a default status.
    #[serde(deserialize_with = "de::map_without_empty")]
    pub status_map: BTreeMap<String, String>,
    /// Which column holds each field.
    pub columns: CdcColumns,
}

/// Which column of the OMS orders row holds each field. Required ones are
/// `String`; optional ones `Option<String>`, `None` meaning the row does not
/// carry the field (written `""` in TOML, which has no null).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdcColumns {
    /// Order identifier.
    pub order_id: String,
    /// Partner the order belongs to.
    pub partner_id: String,
    /// Order status, looked up in [`CdcConfig::status_map`].
    pub status: String,
    /// When the status changed; when `None` or null in the row, the
    /// envelope's `source.ts_ms` is used.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub occurred_at: Option<String>,
    /// Merchant's own order reference.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub merchant_order_ref: Option<String>,
    /// End customer identifier.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub customer_id: Option<String>,
    /// End customer's mobile number, for the built-in SMS (any event type).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub customer_phone: Option<String>,
    /// Rider name (`out_for_delivery`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub rider_name: Option<String>,
    /// Rider phone, unmasked in the row (`out_for_delivery`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub rider_phone: Option<String>,
    /// Delivery OTP (`out_for_delivery`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub delivery_otp: Option<String>,
    /// Start of the estimated delivery window (`out_for_delivery`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub eta_start: Option<String>,
    /// End of the estimated delivery window (`out_for_delivery`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub eta_end: Option<String>,
    /// When the order was delivered (`delivered`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub delivery_timestamp: Option<String>,
    /// Whether the delivery address was confirmed (`delivered`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub delivery_address_confirmed: Option<String>,
    /// Machine-readable failure reason (`delivery_failed`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub failure_reason_code: Option<String>,
    /// Human-readable failure reason (`delivery_failed`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub failure_reason: Option<String>,
    /// Delivery attempt count of the order (`delivered`, `delivery_failed`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub attempt_number: Option<String>,
    /// Return identifier (`return_*`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub return_id: Option<String>,
    /// Machine-readable return reason (`return_*`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub return_reason_code: Option<String>,
    /// Human-readable return reason (`return_*`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub return_reason: Option<String>,
    /// Condition flags of the returned goods (`return_*`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub return_condition_flags: Option<String>,
    /// When the return was picked up (`return_picked_up`).
    #[serde(deserialize_with = "de::empty_as_none")]
    pub pickup_timestamp: Option<String>,
}

/// Webhook delivery policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Wait before each retry; its length is the number of retries after the
    /// first attempt. Non-empty, each entry > 0.
    #[serde(deserialize_with = "duration::deserialize_list")]
    pub retry_schedule: Vec<Duration>,
    /// Random spread on each retry wait as a fraction (0.2 = +-20%), 0..=1.
    pub jitter: f64,
    /// Limit on one whole attempt (connect, send, response).
    #[serde(deserialize_with = "duration::deserialize")]
    pub attempt_timeout: Duration,
    /// Limit on establishing the connection, TLS included.
    #[serde(deserialize_with = "duration::deserialize")]
    pub connect_timeout: Duration,
    /// Deliveries queued per endpoint mailbox (at least 1); overflow stays in
    /// PostgreSQL.
    pub mailbox_capacity: usize,
    /// Concurrent attempts per endpoint (at least 1).
    pub max_in_flight: usize,
    /// Concurrent attempts of the whole process (at least 1).
    pub max_attempts_in_flight: usize,
    /// A delivery waiting longer than this is dead.
    #[serde(deserialize_with = "duration::deserialize")]
    pub max_age: Duration,
    /// Longest pause a `Retry-After` on a 429 or 503 answer can ask for.
    #[serde(deserialize_with = "duration::deserialize")]
    pub retry_after_max: Duration,
    /// How often parked work is re-offered to endpoints.
    #[serde(deserialize_with = "duration::deserialize")]
    pub refill_interval: Duration,
    /// Bytes of each response body kept in the attempt log.
    pub response_excerpt_bytes: usize,
    /// Delivery worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Hosts allowed over plain http and on private or loopback addresses
    /// (development allowlist).
    #[serde(deserialize_with = "de::string_list")]
    pub allow_insecure_hosts: Vec<String>,
    /// Resilience testing: an endpoint actor panics (once per process) when
    /// it is about to send an event of this order id. Empty disables it.
    pub fault_injection_panic_order: String,
}

/// The payload versions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    /// Tracking page URL with `{order_id}` (and optionally `{partner_id}`) in
    /// it; `None` (`""` in TOML) sends `tracking_url: null`.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub tracking_url_template: Option<String>,
    /// The day schema v2 shipped; v1 is sunset 12 months later.
    pub v2_released: chrono::NaiveDate,
}

/// The dispatch service's gRPC endpoint and how long to wait for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchConfig {
    /// `http://host:port` of the dispatch service; `None` (`""` in TOML)
    /// disables enrichment.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub url: Option<String>,
    /// Limit on one call.
    #[serde(deserialize_with = "duration::deserialize")]
    pub deadline: Duration,
    /// Limit on all calls and retries for one event; past it the event goes
    /// out without the dispatch fields.
    #[serde(deserialize_with = "duration::deserialize")]
    pub budget: Duration,
}

/// The admin HTTP API. `Debug` masks the operator token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on.
    #[serde(deserialize_with = "de::socket_addr")]
    pub listen: SocketAddr,
    /// Bearer token of operators; `None` (`""` in TOML) disables the
    /// operator routes.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub operator_token: Option<String>,
    /// How long an operator-issued portal sign-in link stays valid.
    #[serde(deserialize_with = "duration::deserialize")]
    pub portal_link_ttl: Duration,
    /// Public base URL of the built-in tracking pages; `None` (`""` in TOML)
    /// means `http://` + `listen`.
    #[serde(deserialize_with = "de::empty_as_none")]
    pub tracking_page_base_url: Option<String>,
}

impl HttpConfig {
    /// Where the built-in tracking pages are served, as customers reach them.
    pub fn tracking_pages(&self) -> crate::store::tracking::TrackingPages {
        match &self.tracking_page_base_url {
            Some(base) => crate::store::tracking::TrackingPages::new(base),
            None => crate::store::tracking::TrackingPages::new(&format!("http://{}", self.listen)),
        }
    }
}

/// The Prometheus scrape endpoint, on its own listener so that it can stay
/// inside the cluster while the admin API is exposed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address `/metrics` is served on.
    #[serde(deserialize_with = "de::socket_addr")]
    pub listen: SocketAddr,
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` EnvFilter directive, e.g. `info,trackwire=debug`.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl KafkaConfig {
    /// The bootstrap list to connect to: the trimmed content of
    /// `brokers_file` when that is set and the file exists, else `brokers`.
    ///
    /// Resolved on demand rather than at load time because `trackwire
    /// dev-broker` may write the file after the service's config was loaded.
    pub fn bootstrap_servers(&self) -> Result<String, ConfigError> {
        let Some(path) = &self.brokers_file else {
            return Ok(self.brokers.clone());
        };
        // Read directly instead of checking existence first, so a file
        // removed in between is simply "absent".
        match std::fs::read_to_string(path) {
            Ok(content) if content.trim().is_empty() => Err(ConfigError::invalid(
                "kafka.brokers_file",
                format!(
                    "{} exists but is empty; remove it or write a bootstrap list into it",
                    path.display()
                ),
            )),
            Ok(content) => Ok(content.trim().to_owned()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(self.brokers.clone()),
            Err(source) => Err(ConfigError::Read {
                path: path.clone(),
                source,
            }),
        }
    }
}

/// Loads the configuration: built-in defaults, then `file` if given (it must
/// exist), then the `TRACKWIRE_` variables of the process environment, then
/// [`Config::validate`].
pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
    load_from(file, process_env()?)
}

/// [`load`] with the environment passed in, so tests need not touch the
/// process environment.
pub fn load_from(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let defaults = layers::parse_document(DEFAULTS, Path::new(DEFAULTS_NAME))?;
    let mut merged = defaults.clone();
    let mut origins = layers::Origins::default();

    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let overlay = layers::parse_document(&text, path)?;
        let origin = format!("set in {}", path.display());
        layers::check_known_keys(&defaults, &overlay, "", &origin)?;
        layers::merge(&mut merged, overlay, "", &origin, &mut origins);
    }

    for env::Override { var, overlay } in env::overrides(&defaults, env)? {
        let origin = format!("set by {var}");
        layers::check_known_keys(&defaults, &overlay, "", &origin)?;
        layers::merge(&mut merged, overlay, "", &origin, &mut origins);
    }

    typed(merged).map_err(|err| with_origin(err, &origins))
}

/// The deserializer's message with Rust type names ("expected usize") put
/// in words an operator reads.
fn in_plain_words(message: &str) -> String {
    const WORDS: [(&str, &str); 12] = [
        ("usize", "a whole number, 0 or more"),
        ("u64", "a whole number, 0 or more"),
        ("u32", "a whole number, 0 or more"),
        ("u16", "a whole number, 0 or more"),
        ("u8", "a whole number, 0 or more"),
        ("isize", "a whole number"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("i16", "a whole number"),
        ("i8", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    const EXPECTED: &str = "expected ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message.trim_end();
    while let Some(at) = rest.find(EXPECTED) {
        let (head, tail) = rest.split_at(at + EXPECTED.len());
        out.push_str(head);
        let len = tail
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(tail.len());
        let name = &tail[..len];
        out.push_str(
            WORDS
                .iter()
                .find(|(r, _)| *r == name)
                .map_or(name, |(_, w)| w),
        );
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Deserializes and validates the merged layers.
fn typed(merged: Table) -> Result<Config, ConfigError> {
    let config: Config = serde_path_to_error::deserialize(Value::Table(merged)).map_err(|err| {
        ConfigError::invalid(
            err.path().to_string(),
            in_plain_words(err.inner().message()),
        )
    })?;
    config.validate()?;
    Ok(config)
}

/// Adds to a [`ConfigError::Invalid`] error which file or variable set the
/// value, when it was not a default. Done here, once, so that neither the
/// deserializers nor [`Config::validate`] need to know about layers.
fn with_origin(err: ConfigError, origins: &layers::Origins) -> ConfigError {
    match err {
        ConfigError::Invalid { key, message } => match origins.of(&key) {
            Some(origin) => ConfigError::Invalid {
                message: format!("{message} ({origin})"),
                key,
            },
            None => ConfigError::Invalid { key, message },
        },
        other => other,
    }
}

/// The process environment as strings. `std::env::vars` would panic on a
/// variable that is not UTF-8; those are skipped unless they are ours, where
/// silently skipping would hide an override.
fn process_env() -> Result<Vec<(String, String)>, ConfigError> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Ok(name) = name.into_string() else {
            continue;
        };
        match value.into_string() {
            Ok(value) => vars.push((name, value)),
            Err(_) if name.starts_with(env::PREFIX) => {
                return Err(ConfigError::invalid(name, "the value is not valid UTF-8"));
            }
            Err(_) => {}
        }
    }
    Ok(vars)
}
