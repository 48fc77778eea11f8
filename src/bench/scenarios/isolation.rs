//! `isolation`: 10% of the endpoints black holes and 10% answering 500,
//! against the same layout all healthy; the ratio of the healthy
//! endpoints' p99 between the two.

use crate::bench::layout::Layout;
use crate::bench::plan::{on_each, Step};
use crate::bench::report::{Isolation, StepResult};
use crate::bench::traffic::Traffic;
use crate::bench::{BenchArgs, BenchError, Kafka};

/// The healthy endpoints' p99 with the sick ones against all healthy:
/// round by round (the n-th healthy step with the n-th sick one, on the
/// first broker kind run), then the medians.
pub(in crate::bench) fn ratio(steps: &[StepResult]) -> Option<Isolation> {
    // With --compare-mock each step runs on both brokers, the real one's
    // label ending in ", Kafka" (see `plan::on_each`).
    let on_kafka = |s: &StepResult| s.label.ends_with(", Kafka");
    let first_kind = on_kafka(steps.iter().find(|s| s.scenario == "isolation")?);
    let p99s = |healthy: bool| -> Vec<f64> {
        steps
            .iter()
            .filter(|s| s.scenario == "isolation" && on_kafka(s) == first_kind)
            .filter(|s| (s.healthy_endpoints == s.endpoints) == healthy)
            .map(|s| s.latency_ms.p99)
            .collect()
    };
    let (reference, healthy) = (p99s(true), p99s(false));
    let ratios: Vec<f64> = reference
        .iter()
        .zip(&healthy)
        .map(|(r, h)| h / r.max(1e-9))
        .collect();
    Some(Isolation {
        reference_p99_ms: median(&reference)?,
        healthy_p99_ms: median(&healthy)?,
        ratio: median(&ratios)?,
        ratios,
    })
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Rounds of two steps at 200 events/s on 50 endpoints (10 when quick): all
/// healthy, then with the sick ones.
pub(in crate::bench) fn steps(args: &BenchArgs, steps: &mut Vec<Step>) -> Result<(), BenchError> {
    let q = args.quick;
    let base = Layout::even(if q { 2 } else { 10 }, if q { 10 } else { 50 })?;
    let (events, rate) = if q { (200, 200.0) } else { (2_000, 200.0) };
    let rounds = if q { 1 } else { args.isolation_rounds };
    for round in 1..=rounds {
        for (label, layout) in [
            ("all healthy", base.clone()),
            ("10% black hole, 10% 500", base.clone().with_sick()),
        ] {
            let t = Traffic {
                scenario: "isolation",
                label: if rounds > 1 {
                    format!("{label}, round {round}")
                } else {
                    label.into()
                },
                layout,
                events,
                rate: Some(rate),
                kafka: Kafka::Mock,
            };
            on_each(args, steps, t);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
