//! Which steps a bench run makes, from its options: the scenarios asked
//! for, each traffic step on the mock cluster, the real broker or both.

use super::scenarios::{Layout, Traffic};
use super::{BenchArgs, BenchError, Kafka};

/// The scenarios `all` runs (cdc needs an OMS, so it is asked for by name).
pub(super) const ALL: &[&str] = &["steady", "max", "isolation", "fanout", "idle-scale"];

/// Every step, in order.
pub(super) enum Step {
    Traffic(Traffic),
    Cdc(Traffic),
    Idle(usize),
}

/// The brokers a traffic step runs on: the mock cluster, the real one given
/// with --brokers, or both one after the other.
pub(super) fn kafkas(args: &BenchArgs) -> Vec<Kafka> {
    let real = |brokers: &String| Kafka::Real {
        brokers: brokers.clone(),
        cdc_topic: None,
    };
    match &args.brokers {
        None => vec![Kafka::Mock],
        Some(b) if args.compare_mock => vec![Kafka::Mock, real(b)],
        Some(b) => vec![real(b)],
    }
}

/// One traffic step per broker kind, labelled by it when there are two.
fn on_each(args: &BenchArgs, steps: &mut Vec<Step>, t: Traffic) {
    let kinds = kafkas(args);
    let tag = kinds.len() > 1;
    for kafka in kinds {
        let label = match (&kafka, tag) {
            (_, false) => t.label.clone(),
            (Kafka::Mock, true) => format!("{}, mock", t.label),
            (Kafka::Real { .. }, true) => format!("{}, Kafka", t.label),
        };
        steps.push(Step::Traffic(Traffic {
            label,
            layout: t.layout.clone(),
            kafka,
            ..t
        }));
    }
}

pub(super) fn plan(args: &BenchArgs) -> Result<Vec<Step>, BenchError> {
    let wanted: Vec<&str> = args.scenario.split(',').map(str::trim).collect();
    let all = wanted.contains(&"all");
    for w in &wanted {
        if *w != "all" && *w != "cdc" && !ALL.contains(w) {
            return Err(BenchError::new(format!(
                "unknown scenario {w:?}: use steady, max, isolation, fanout, idle-scale, cdc or all"
            )));
        }
    }
    let on = |s: &str| (all && ALL.contains(&s)) || wanted.contains(&s);
    let q = args.quick;
    let layout = |partners: usize, endpoints: usize| {
        Layout::even(
            args.partners.unwrap_or(partners),
            args.endpoints.unwrap_or(endpoints),
        )
    };
    let mut steps = Vec::new();
    if on("steady") {
        let rates = match (args.rate, q) {
            (Some(r), _) => vec![r],
            (None, true) => vec![200.0],
            (None, false) => vec![200.0, 1_000.0],
        };
        for rate in rates {
            let events = args
                .count
                .unwrap_or(if q { rate as usize } else { rate as usize * 10 });
            let t = Traffic {
                scenario: "steady",
                label: format!("{rate:.0} ev/s"),
                layout: layout(10, 10)?,
                events,
                rate: Some(rate),
                kafka: Kafka::Mock,
            };
            on_each(args, &mut steps, t);
        }
    }
    if on("max") {
        let t = Traffic {
            scenario: "max",
            label: "saturation".into(),
            layout: layout(if q { 2 } else { 20 }, if q { 10 } else { 100 })?,
            events: args.count.unwrap_or(if q { 400 } else { 10_000 }),
            rate: None,
            kafka: Kafka::Mock,
        };
        on_each(args, &mut steps, t);
    }
    if on("isolation") {
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
            on_each(args, &mut steps, t);
        }
    }
    if on("fanout") {
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
            on_each(args, &mut steps, t);
        }
    }
    if on("idle-scale") {
        let sizes: &[usize] = if q { &[100] } else { &[10_000, 100_000] };
        steps.extend(sizes.iter().map(|&n| Step::Idle(n)));
    }
    if on("cdc") {
        steps.push(Step::Cdc(cdc_step(args)?));
    }
    Ok(steps)
}

fn cdc_step(args: &BenchArgs) -> Result<Traffic, BenchError> {
    let Some(brokers) = &args.brokers else {
        return Err(BenchError::new(
            "the cdc scenario needs --brokers and a Debezium connector writing into --oms-topic (scripts/cdc start)",
        ));
    };
    let rate = args.rate.unwrap_or(200.0);
    Ok(Traffic {
        scenario: "cdc",
        label: format!("{rate:.0} changes/s"),
        layout: Layout::even(args.partners.unwrap_or(10), args.endpoints.unwrap_or(10))?,
        events: args
            .count
            .unwrap_or(if args.quick { 200 } else { rate as usize * 10 }),
        rate: Some(rate),
        kafka: Kafka::Real {
            brokers: brokers.clone(),
            cdc_topic: Some(args.oms_topic.clone()),
        },
    })
}
