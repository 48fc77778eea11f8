//! Which steps a bench run makes, from its options: the scenarios asked
//! for, each traffic step on the mock cluster, the real broker or both.

use super::scenarios::{cdc, fanout, idle_scale, isolation, max, steady};
use super::traffic::Traffic;
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
pub(super) fn on_each(args: &BenchArgs, steps: &mut Vec<Step>, t: Traffic) {
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

/// How a scenario adds its steps to a run.
type AddSteps = fn(&BenchArgs, &mut Vec<Step>) -> Result<(), BenchError>;

/// Every scenario, in the order a run takes them.
const SCENARIOS: &[(&str, AddSteps)] = &[
    ("steady", steady::steps),
    ("max", max::steps),
    ("isolation", isolation::steps),
    ("fanout", fanout::steps),
    ("idle-scale", idle_scale::steps),
    ("cdc", cdc::steps),
];

/// The steps of the scenarios `--scenario` names, in the order above.
pub(super) fn plan(args: &BenchArgs) -> Result<Vec<Step>, BenchError> {
    let wanted: Vec<&str> = args.scenario.split(',').map(str::trim).collect();
    let all = wanted.contains(&"all");
    for w in &wanted {
        if *w != "all" && !SCENARIOS.iter().any(|(name, _)| name == w) {
            return Err(BenchError::new(format!(
                "unknown scenario {w:?}: use steady, max, isolation, fanout, idle-scale, cdc or all"
            )));
        }
    }
    let mut steps = Vec::new();
    for (name, add) in SCENARIOS {
        if (all && ALL.contains(name)) || wanted.contains(name) {
            add(args, &mut steps)?;
        }
    }
    Ok(steps)
}
