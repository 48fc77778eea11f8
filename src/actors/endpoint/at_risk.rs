//! The at-risk flag of an integration: raised when its ACK rate falls below a
//! threshold over enough attempts, or its breaker stays open too long;
//! cleared with hysteresis so that it does not flap.

use std::time::Duration;

use super::ack_rate::Snapshot;

/// When to raise and clear the flag.
#[derive(Debug, Clone, PartialEq)]
pub struct AtRiskPolicy {
    /// Raise when the ACK rate is below this ...
    pub threshold: f64,
    /// ... over at least this many attempts in the window.
    pub min_attempts: u64,
    /// Or when the breaker has been open this long.
    pub open_after: Duration,
    /// Clear only when the rate is back above `threshold + clear_margin`
    /// (and the breaker closed).
    pub clear_margin: f64,
}

/// A change of the flag, to log, store and alert on.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The integration became at-risk, for this reason.
    Raised(String),
    /// It recovered.
    Cleared(String),
}

/// The flag.
#[derive(Debug, Clone, Default)]
pub struct AtRisk {
    /// Raised, with the reason.
    pub reason: Option<String>,
}

impl AtRisk {
    /// Re-evaluates the flag from the current ACK rate and how long the
    /// breaker has been open (`None` when it is not open).
    pub fn evaluate(
        &mut self,
        policy: &AtRiskPolicy,
        rate: Snapshot,
        open_for: Option<Duration>,
    ) -> Option<Change> {
        let enough = rate.attempts >= policy.min_attempts;
        let value = rate.rate().unwrap_or(1.0);
        match &self.reason {
            None => {
                let reason = if let Some(open) = open_for.filter(|o| *o >= policy.open_after) {
                    Some(format!("circuit breaker open for {}s", open.as_secs()))
                } else if enough && value < policy.threshold {
                    Some(format!(
                        "ACK rate {:.1}% over the last {} attempts is below {:.1}%",
                        value * 100.0,
                        rate.attempts,
                        policy.threshold * 100.0
                    ))
                } else {
                    None
                };
                reason.map(|r| {
                    self.reason = Some(r.clone());
                    Change::Raised(r)
                })
            }
            Some(_) => {
                let recovered = open_for.is_none()
                    && enough
                    && value >= (policy.threshold + policy.clear_margin).min(1.0);
                recovered.then(|| {
                    self.reason = None;
                    Change::Cleared(format!(
                        "ACK rate back to {:.1}% over {} attempts",
                        value * 100.0,
                        rate.attempts
                    ))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AtRiskPolicy {
        AtRiskPolicy {
            threshold: 0.9,
            min_attempts: 20,
            open_after: Duration::from_secs(300),
            clear_margin: 0.05,
        }
    }

    fn snap(attempts: u64, acked: u64) -> Snapshot {
        Snapshot { attempts, acked }
    }

    #[test]
    fn a_low_rate_over_enough_attempts_raises_and_recovery_clears_with_hysteresis() {
        let p = policy();
        let mut f = AtRisk::default();
        assert_eq!(
            f.evaluate(&p, snap(10, 5), None),
            None,
            "too few attempts to judge"
        );
        assert!(matches!(
            f.evaluate(&p, snap(20, 16), None),
            Some(Change::Raised(_))
        ));
        assert_eq!(f.evaluate(&p, snap(20, 16), None), None, "raised once");
        assert_eq!(
            f.evaluate(&p, snap(40, 37), None),
            None,
            "92.5% is not enough to clear"
        );
        assert!(matches!(
            f.evaluate(&p, snap(40, 39), None),
            Some(Change::Cleared(_))
        ));
    }

    #[test]
    fn a_breaker_open_too_long_raises_and_blocks_clearing() {
        let p = policy();
        let mut f = AtRisk::default();
        assert_eq!(
            f.evaluate(&p, snap(0, 0), Some(Duration::from_secs(10))),
            None
        );
        let raised = f.evaluate(&p, snap(0, 0), Some(Duration::from_secs(301)));
        assert!(matches!(raised, Some(Change::Raised(r)) if r.contains("circuit breaker")));
        assert_eq!(
            f.evaluate(&p, snap(100, 100), Some(Duration::from_secs(400))),
            None
        );
        assert!(matches!(
            f.evaluate(&p, snap(100, 100), None),
            Some(Change::Cleared(_))
        ));
    }
}
