//! `isolation`: 10% of the endpoints black holes and 10% answering 500,
//! against the same layout all healthy; the ratio of the healthy
//! endpoints' p99 between the two.

use crate::bench::layout::Layout;
use crate::bench::plan::{on_each, Step};
use crate::bench::report::{Isolation, StepResult};
use crate::bench::traffic::Traffic;
use crate::bench::{BenchArgs, BenchError, Kafka};

/// The healthy endpoints' p99 with the sick ones against all healthy.
pub(in crate::bench) fn ratio(steps: &[StepResult]) -> Option<Isolation> {
    let of = |healthy: bool| {
        steps
            .iter()
            .find(|s| s.scenario == "isolation" && (s.healthy_endpoints == s.endpoints) == healthy)
            .map(|s| s.latency_ms.p99)
    };
    let (reference, healthy) = (of(true)?, of(false)?);
    Some(Isolation {
        reference_p99_ms: reference,
        healthy_p99_ms: healthy,
        ratio: healthy / reference.max(1e-9),
    })
}

/// Two steps at 200 events/s on 50 endpoints (10 when quick): all healthy,
/// then with the sick ones.
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let q = args.quick;
    let base = Layout::even(if q { 2 } else { 10 }, if q { 10 } else { 50 })?;
    let (events, rate) = if q { (200, 200.0) } else { (2_000, 200.0) };
    for (label, layout) in [
        ("all healthy", base.clone()),
        ("10% black hole, 10% 500", base.with_sick()),
    ] {
        let t = Traffic {
            scenario: "isolation",
            label: label.into(),
            layout,
            events,
            rate: Some(rate),
            kafka: Kafka::Mock,
        };
        on_each(args, steps, t);
    }
    Ok(())
}
