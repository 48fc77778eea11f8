//! The circuit breaker, as an explicit state machine. Pure: the caller passes
//! the time, so it is tested without clocks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// When the breaker opens and how long it stays open.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerPolicy {
    /// Opens after this many failures in a row.
    pub consecutive_failures: u32,
    /// ... or when this share of the last `window` attempts failed,
    pub failure_rate: f64,
    /// (the number of recent attempts considered)
    pub window: usize,
    /// with at least this many attempts in the window.
    pub min_attempts: usize,
    /// First cool-down before a probe.
    pub cooldown: Duration,
    /// Longest cool-down: it doubles after each failed probe up to this.
    pub max_cooldown: Duration,
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Deliveries flow.
    Closed,
    /// Nothing is attempted until `until`; then one probe.
    Open {
        /// When the cool-down ends.
        until: Instant,
        /// The cool-down that led here, doubled on the next failed probe.
        cooldown: Duration,
    },
    /// One probe is (or may be) under way; its result decides.
    HalfOpen {
        /// A probe has been let through.
        probing: bool,
        /// The cool-down to use if the probe fails.
        cooldown: Duration,
    },
}

impl State {
    /// Stored and exported name.
    pub fn name(&self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        }
    }

    /// Gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(&self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::HalfOpen { .. } => 1.0,
            State::Open { .. } => 2.0,
        }
    }
}

/// A state change, to be logged once and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Before.
    pub from: &'static str,
    /// After.
    pub to: &'static str,
    /// Why.
    pub reason: String,
}

/// One endpoint's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: State,
    consecutive: u32,
    /// Outcomes of recent attempts while closed, newest last (true = failed).
    recent: VecDeque<bool>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Self {
        Breaker {
            policy,
            state: State::Closed,
            consecutive: 0,
            recent: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether an attempt may start now. In half-open, only the first caller
    /// gets through (the probe); an open breaker whose cool-down is over
    /// turns half-open here.
    pub fn permit(&mut self, now: Instant) -> (bool, Option<Transition>) {
        match self.state {
            State::Closed => (true, None),
            State::Open { until, cooldown } if now >= until => {
                self.state = State::HalfOpen {
                    probing: true,
                    cooldown,
                };
                (
                    true,
                    Some(Transition {
                        from: "open",
                        to: "half_open",
                        reason: "cool-down over; sending one probe".into(),
                    }),
                )
            }
            State::Open { .. } => (false, None),
            State::HalfOpen { probing: true, .. } => (false, None),
            State::HalfOpen {
                probing: false,
                cooldown,
            } => {
                self.state = State::HalfOpen {
                    probing: true,
                    cooldown,
                };
                (true, None)
            }
        }
    }

    /// When an open breaker will allow a probe.
    pub fn reopens_at(&self) -> Option<Instant> {
        match self.state {
            State::Open { until, .. } => Some(until),
            _ => None,
        }
    }

    /// True while a probe is the only attempt allowed: its failure is not
    /// charged to the delivery's retry budget.
    pub fn is_probing(&self) -> bool {
        matches!(self.state, State::HalfOpen { probing: true, .. })
    }

    /// Records an attempt's outcome.
    pub fn record(&mut self, failed: bool, now: Instant) -> Option<Transition> {
        match self.state {
            State::HalfOpen { cooldown, .. } => {
                if failed {
                    let next = (cooldown * 2).min(self.policy.max_cooldown);
                    self.state = State::Open {
                        until: now + next,
                        cooldown: next,
                    };
                    Some(Transition {
                        from: "half_open",
                        to: "open",
                        reason: format!("probe failed; next probe in {next:?}"),
                    })
                } else {
                    self.reset();
                    Some(Transition {
                        from: "half_open",
                        to: "closed",
                        reason: "probe acknowledged".into(),
                    })
                }
            }
            // Results of attempts started before the breaker opened change
            // nothing.
            State::Open { .. } => None,
            State::Closed => {
                self.consecutive = if failed { self.consecutive + 1 } else { 0 };
                self.recent.push_back(failed);
                while self.recent.len() > self.policy.window.max(1) {
                    self.recent.pop_front();
                }
                let failures = self.recent.iter().filter(|f| **f).count();
                let rate = failures as f64 / self.recent.len() as f64;
                let reason = if self.consecutive >= self.policy.consecutive_failures {
                    Some(format!("{} consecutive failures", self.consecutive))
                } else if self.recent.len() >= self.policy.min_attempts
                    && rate >= self.policy.failure_rate
                {
                    Some(format!(
                        "{failures} of the last {} attempts failed ({:.0}%)",
                        self.recent.len(),
                        rate * 100.0
                    ))
                } else {
                    None
                };
                reason.map(|reason| {
                    let cooldown = self.policy.cooldown;
                    self.state = State::Open {
                        until: now + cooldown,
                        cooldown,
                    };
                    Transition {
                        from: "closed",
                        to: "open",
                        reason,
                    }
                })
            }
        }
    }

    /// Back to closed with a clean slate (also after an actor restart).
    pub fn reset(&mut self) {
        self.state = State::Closed;
        self.consecutive = 0;
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            consecutive_failures: 3,
            failure_rate: 0.5,
            window: 10,
            min_attempts: 6,
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(40),
        }
    }

    #[test]
    fn consecutive_failures_open_it_and_one_probe_closes_it() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        assert!(b.record(true, t0).is_none());
        assert!(b.record(true, t0).is_none());
        let t = b.record(true, t0).expect("opens");
        assert_eq!((t.from, t.to), ("closed", "open"));
        assert_eq!(b.permit(t0 + Duration::from_secs(5)), (false, None));
        let (ok, t) = b.permit(t0 + Duration::from_secs(10));
        assert!(ok);
        assert_eq!(t.unwrap().to, "half_open");
        assert!(b.is_probing());
        assert!(!b.permit(t0 + Duration::from_secs(10)).0, "only one probe");
        let t = b
            .record(false, t0 + Duration::from_secs(11))
            .expect("closes");
        assert_eq!((t.from, t.to), ("half_open", "closed"));
        assert_eq!(b.permit(t0 + Duration::from_secs(11)), (true, None));
    }

    #[test]
    fn a_failed_probe_doubles_the_cool_down_up_to_the_maximum() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        for _ in 0..3 {
            b.record(true, t0);
        }
        let mut now = t0;
        for expected in [20, 40, 40] {
            now = b.reopens_at().unwrap();
            assert!(b.permit(now).0);
            b.record(true, now);
            assert_eq!(b.reopens_at().unwrap() - now, Duration::from_secs(expected));
        }
        let _ = now;
    }

    #[test]
    fn a_high_failure_rate_opens_it_without_a_streak() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        let mut opened = None;
        for failed in [true, false, true, false, true, false, true] {
            opened = opened.or(b.record(failed, t0));
        }
        assert!(opened.unwrap().reason.contains("of the last"));
    }

    #[test]
    fn occasional_failures_keep_it_closed() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        for i in 0..100 {
            assert!(b.record(i % 5 == 0, t0).is_none());
        }
        assert_eq!(b.state(), State::Closed);
    }
}
