//! trackwire: real-time order-tracking webhooks.
//!
//! # Layout
//! - [`dispatch`]: the dispatch service's gRPC client, which supplies the
//!   rider, OTP and estimated window of `out_for_delivery` events.
//! - [`ingest`]: consumes Debezium change events of the OMS orders table from
//!   Kafka and turns status transitions into events.
//! - [`schema`]: the event contract: event types, the versioned payloads and
//!   their JSON Schemas.
//! - [`store`]: PostgreSQL, the source of truth: partners, endpoints, events,
//!   deliveries, attempts, quarantined records; migrations.
//! - [`actors`]: the router and one endpoint actor per endpoint, delivering
//!   signed webhooks with retries and dead letters.
//! - [`webhook`]: Standard Webhooks signing and verification.
//! - [`sms`]: templated, DLT-registered SMS to end customers through Kannel.
//! - [`http`]: the service's HTTP surface (health; admin API and portal).
//! - [`config`]: layered configuration (defaults, file, environment).
//! - [`app`]: assembles and runs the service; [`cli`] is the command line.
//! - [`dev`]: the local Kafka-protocol broker and the demo.
//! - [`bench`]: `trackwire bench`, throughput and latency against a bare-HTTP
//!   baseline measured in the same run.

pub mod actors;
pub mod app;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod dev;
pub mod dispatch;
pub mod endpoint_url;
pub mod http;
pub mod ingest;
pub mod kafka;
pub mod schema;
pub mod sms;
pub mod store;
pub mod telemetry;
pub mod webhook;
