//! `max`: every event produced at once to 100 endpoints, for the durable
//! deliveries per second at saturation.

use crate::bench::layout::Layout;
use crate::bench::plan::{on_each, Step};
use crate::bench::traffic::Traffic;
use crate::bench::{BenchArgs, BenchError, Kafka};

/// One step: 10,000 events over 20 partners' 100 endpoints (400 over 10
/// when quick).
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let q = args.quick;
    let t = Traffic {
        scenario: "max",
        label: "saturation".into(),
        layout: Layout::asked(args, if q { 2 } else { 20 }, if q { 10 } else { 100 })?,
        events: args.count.unwrap_or(if q { 400 } else { 10_000 }),
        rate: None,
        kafka: Kafka::Mock,
    };
    on_each(args, steps, t);
    Ok(())
}
