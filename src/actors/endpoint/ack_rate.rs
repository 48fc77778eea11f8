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

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    /// True while nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Seeds an empty tracker with counts stored `age` ago over a window
    /// ending then (a restart must not forget the last minutes). They are
    /// spread evenly over that window's minutes, so they age out gradually as
    /// the attempts themselves would have; the minutes already past the
    /// window are dropped.
    pub fn restore(&mut self, stored: Snapshot, age: Duration, now: Instant) {
        if !self.buckets.is_empty() || stored.attempts == 0 {
            return;
        }
        let minutes = (self.window.as_secs() / BUCKET.as_secs()).max(1);
        let share = |total: u64, i: u64| total * (i + 1) / minutes - total * i / minutes;
        for i in 0..minutes {
            // Bucket i of `minutes`, oldest first, ending at the snapshot.
            let before_snapshot = BUCKET * u32::try_from(minutes - 1 - i).unwrap_or(u32::MAX);
            let Some(start) = now.checked_sub(age + before_snapshot) else {
                continue;
            };
            let (attempts, acked) = (share(stored.attempts, i), share(stored.acked, i));
            if attempts > 0 {
                self.buckets
                    .push_back((start, attempts, acked.min(attempts)));
            }
        }
        self.expire(now);
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
    fn a_restored_window_counts_what_was_stored_and_ages_out_gradually() {
        let now = Instant::now() + Duration::from_secs(3600);
        let mut rate = AckRate::new(Duration::from_secs(15 * 60));
        let stored = Snapshot {
            attempts: 9,
            acked: 3,
        };
        rate.restore(stored, Duration::from_secs(5), now);
        assert_eq!(rate.snapshot(now), stored);
        // Ten minutes on, the oldest two thirds of the window are gone.
        let later = rate.snapshot(now + Duration::from_secs(600));
        assert!(later.attempts < 9 && later.attempts > 0, "{later:?}");
        assert_eq!(
            rate.snapshot(now + Duration::from_secs(15 * 60)).attempts,
            0
        );
    }

    #[test]
    fn a_snapshot_older_than_the_window_restores_nothing_and_live_counts_win() {
        let now = Instant::now() + Duration::from_secs(3600);
        let stored = Snapshot {
            attempts: 9,
            acked: 3,
        };
        let mut rate = AckRate::new(Duration::from_secs(15 * 60));
        rate.restore(stored, Duration::from_secs(16 * 60), now);
        assert_eq!(rate.snapshot(now).attempts, 0);
        let mut live = AckRate::new(Duration::from_secs(15 * 60));
        live.record(true, now);
        live.restore(stored, Duration::ZERO, now);
        assert_eq!(live.snapshot(now).attempts, 1);
    }

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
