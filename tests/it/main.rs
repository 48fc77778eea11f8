//! Integration tests: real PostgreSQL, the Kafka-protocol mock cluster, real
//! HTTP receivers on 127.0.0.1, and the `trackwire` binary as a black box.
//! One test binary, so the heavy dependencies link once.

mod api;
mod bench;
mod chaos;
mod cli;
mod contract;
mod harness;
mod ingest_store;
mod observability;
mod observability_live;
mod pipeline;
mod portal;
mod private_pg;
mod receiver;
mod resilience;
mod sms;
mod tracking;
