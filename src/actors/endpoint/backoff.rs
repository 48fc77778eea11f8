//! The retry schedule, kept pure so it can be tested without time.

use std::time::Duration;

/// When to try again after a failed attempt: a fixed schedule (30 s, 2 min,
/// 8 min by default) spread by a random jitter so that a partner coming back
/// from an outage is not hit by every retry at the same instant.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    jitter: f64,
}

impl RetryPolicy {
    /// `schedule[i]` is the wait after the failure of attempt `i + 1`;
    /// `jitter` is the fraction (0.0 to 1.0) by which a wait may be shortened
    /// or lengthened.
    pub fn new(schedule: Vec<Duration>, jitter: f64) -> Self {
        RetryPolicy {
            schedule,
            jitter: jitter.clamp(0.0, 1.0),
        }
    }

    /// Attempts in all: the first plus one per scheduled retry.
    pub fn max_attempts(&self) -> i32 {
        i32::try_from(self.schedule.len()).unwrap_or(i32::MAX - 1) + 1
    }

    /// The wait after attempt `attempts` failed, or `None` when that was the
    /// last one and the delivery is dead.
    pub fn delay_after(&self, attempts: i32) -> Option<Duration> {
        self.delay_with(attempts, rand::random::<f64>())
    }

    /// As [`delay_after`](Self::delay_after), with the random draw (in
    /// `0.0..1.0`) given.
    pub fn delay_with(&self, attempts: i32, draw: f64) -> Option<Duration> {
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        let base = *self.schedule.get(index)?;
        let factor = 1.0 + self.jitter * (2.0 * draw.clamp(0.0, 1.0) - 1.0);
        Some(base.mul_f64(factor.max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: f64) -> RetryPolicy {
        RetryPolicy::new(
            vec![
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(480),
            ],
            jitter,
        )
    }

    #[test]
    fn without_jitter_the_schedule_is_followed_then_the_delivery_is_dead() {
        let p = policy(0.0);
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(p.delay_with(1, 0.9), Some(Duration::from_secs(30)));
        assert_eq!(p.delay_with(2, 0.1), Some(Duration::from_secs(120)));
        assert_eq!(p.delay_with(3, 0.5), Some(Duration::from_secs(480)));
        assert_eq!(p.delay_with(4, 0.5), None);
        assert_eq!(p.delay_with(0, 0.5), None);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let p = policy(0.2);
        assert_eq!(p.delay_with(1, 0.0), Some(Duration::from_secs(24)));
        assert_eq!(p.delay_with(1, 1.0), Some(Duration::from_secs(36)));
        assert_eq!(p.delay_with(1, 0.5), Some(Duration::from_secs(30)));
        for _ in 0..100 {
            let d = p.delay_after(2).unwrap();
            assert!(
                d >= Duration::from_secs(96) && d <= Duration::from_secs(144),
                "{d:?}"
            );
        }
    }
}
