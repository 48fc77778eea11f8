//! Logs, metrics and the shutdown signal.
//!
//! # Layout
//! - [`catalogue`]: every exported metric (name, type, labels, meaning) and
//!   the histogram buckets.
//! - [`events`]: typed internal events; each `emit()` logs and updates
//!   metrics together.
//! - [`exporter`]: installs the Prometheus recorder and serves `/metrics`.
//! - [`kafka_stats`]: consumer lag from librdkafka statistics.

pub mod catalogue;
pub mod events;
pub mod exporter;
pub mod kafka_stats;

#[cfg(test)]
mod tests;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber: `log.level` as the filter (RUST_LOG wins
/// when set), text or JSON lines on stderr, coloured only on a terminal
/// (and not with `NO_COLOR` set), so files and log shippers get plain text.
pub fn init(log: &LogConfig) {
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
