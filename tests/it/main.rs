//! Integration tests: real PostgreSQL, a real Kafka broker (scripts/test
//! starts one), real HTTP receivers on 127.0.0.1, and the `trackwire` binary
//! as a black box.
//! One test binary, so the heavy dependencies link once.

mod api;
mod bench;
mod broker_failure;
mod cdc;
mod chaos;
mod cli;
mod contract;
mod demo;
mod go_live;
mod harness;
mod ingest_store;
mod kafka;
mod observability;
mod observability_live;
mod oms;
mod pipeline;
mod portal;
mod private_pg;
mod rate_limit;
mod receiver;
mod resilience;
mod response_rules;
mod signatures;
mod sms;
mod tracking;
