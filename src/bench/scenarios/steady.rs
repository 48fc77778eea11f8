//! `steady`: events at a fixed rate (200 and 1,000 events/s) to 10
//! endpoints, for end-to-end latency.

use crate::bench::layout::Layout;
use crate::bench::plan::{on_each, Step};
use crate::bench::traffic::Traffic;
use crate::bench::{BenchArgs, BenchError, Kafka};

/// One step per rate (`--rate`, or 200 and 1,000 events/s; 200 when quick).
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let rates = match (args.rate, args.quick) {
        (Some(r), _) => vec![r],
        (None, true) => vec![200.0],
        (None, false) => vec![200.0, 1_000.0],
    };
    for rate in rates {
        let ten_seconds = if args.quick {
            rate as usize
        } else {
            rate as usize * 10
        };
        let t = Traffic {
            scenario: "steady",
            label: format!("{rate:.0} ev/s"),
            layout: Layout::asked(args, 10, 10)?,
            events: args.count.unwrap_or(ten_seconds),
            rate: Some(rate),
            kafka: Kafka::Mock,
        };
        on_each(args, steps, t);
    }
    Ok(())
}
