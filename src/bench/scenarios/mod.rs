//! The scenarios, one module each: the steps it adds to a run (from the
//! options), and what it measures beyond the shared step results.
//!
//! - `steady`: a fixed rate (200 and 1,000 events/s), for latency.
//! - `max`: everything produced at once, for throughput.
//! - `isolation`: 10% of endpoints black holes and 10% answering 500,
//!   against the same layout all healthy.
//! - `fanout`: 1, 10, 100 and 1,000 endpoints (5 per partner at most, so
//!   more endpoints means more partners).
//! - `idle-scale`: 10,000 and 100,000 endpoints, no traffic.
//! - `cdc`: MariaDB status UPDATEs at 200/s through Debezium and a real
//!   broker.

pub(super) mod cdc;
pub(super) mod fanout;
pub(super) mod idle_scale;
pub(super) mod isolation;
pub(super) mod max;
pub(super) mod steady;
