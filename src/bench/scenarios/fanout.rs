//! `fanout`: the same number of deliveries spread over 1, 10, 100 and
//! 1,000 endpoints (5 per partner at most, so more endpoints means more
//! partners).

use crate::bench::layout::Layout;
use crate::bench::plan::{on_each, Step};
use crate::bench::traffic::Traffic;
use crate::bench::{BenchArgs, BenchError, Kafka};

/// One step per size, each with about 20,000 healthy deliveries (200 when
/// quick, on 10 endpoints only).
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let q = args.quick;
    let sizes: &[usize] = if q { &[10] } else { &[1, 10, 100, 1_000] };
    let deliveries = if q { 200 } else { 20_000 };
    for &n in sizes {
        let layout = Layout::packed(n);
        let per_event = layout.healthy_deliveries(layout.partners()) / layout.partners();
        let t = Traffic {
            scenario: "fanout",
            label: format!("{n} endpoints"),
            events: deliveries / per_event.max(1),
            layout,
            rate: None,
            kafka: Kafka::Mock,
        };
        on_each(args, steps, t);
    }
    Ok(())
}
