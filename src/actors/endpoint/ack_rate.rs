//! The rolling acknowledgement rate of an endpoint: attempts and ACKs counted
//! in one-minute buckets over a window, so memory stays constant whatever the
//! traffic.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const BUCKET: Duration = Duration::from_secs(60);

/// Counts per bucket, oldest first.
#[derive(Debug, Clone)]
pub struct AckRate {
    window: Duration,
    buckets: VecDeque<(Instant, u64, u64)>,
}

/// The rate over the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Attempts in the window.
    pub attempts: u64,
    /// Of which acknowledged.
    pub acked: u64,
}

impl Snapshot {
    /// ACKs / attempts, or `None` with no attempts.
    pub fn rate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.acked as f64 / self.attempts as f64)
    }
}

impl AckRate {
    /// A tracker over `window` (rounded up to whole minutes).
    pub fn new(window: Duration) -> Self {
        AckRate {
            window: window.max(BUCKET),
            buckets: VecDeque::new(),
        }
    }

    /// Counts one attempt.
    pub fn record(&mut self, acked: bool, now: Instant) {
        self.expire(now);
        match self.buckets.back_mut() {
            Some((start, attempts, acks)) if now.duration_since(*start) < BUCKET => {
                *attempts += 1;
                *acks += u64::from(acked);
            }
            _ => self.buckets.push_back((now, 1, u64::from(acked))),
        }
    }

    /// The counts over the window ending `now`.
    pub fn snapshot(&mut self, now: Instant) -> Snapshot {
        self.expire(now);
        let (attempts, acked) = self
            .buckets
            .iter()
            .fold((0, 0), |(a, k), (_, attempts, acks)| {
                (a + attempts, k + acks)
            });
        Snapshot { attempts, acked }
    }

    /// Forgets everything (after a restart the window starts again).
    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    fn expire(&mut self, now: Instant) {
        while let Some((start, ..)) = self.buckets.front() {
            if now.duration_since(*start) >= self.window {
                self.buckets.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_covers_the_window_and_forgets_older_minutes() {
        let t0 = Instant::now();
        let mut r = AckRate::new(Duration::from_secs(300));
        assert_eq!(r.snapshot(t0).rate(), None);
        for i in 0..10 {
            r.record(i % 5 != 0, t0);
        }
        assert_eq!(
            r.snapshot(t0),
            Snapshot {
                attempts: 10,
                acked: 8
            }
        );
        let later = t0 + Duration::from_secs(120);
        for _ in 0..10 {
            r.record(true, later);
        }
        assert_eq!(r.snapshot(later).rate(), Some(0.9));
        assert_eq!(
            r.snapshot(t0 + Duration::from_secs(301)),
            Snapshot {
                attempts: 10,
                acked: 10
            }
        );
        assert_eq!(r.snapshot(t0 + Duration::from_secs(500)).attempts, 0);
    }
}
