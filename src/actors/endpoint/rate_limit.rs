//! The partner's rate limit on one endpoint, as a token bucket. Pure: the
//! caller passes the time.
//!
//! The bucket holds up to `burst` tokens and gains `per_second` a second;
//! each attempt takes one. A full bucket lets a burst through at once, then
//! attempts are spaced `1 / per_second` apart.

use std::time::{Duration, Instant};

pub use crate::store::endpoints::RateLimit;

/// One endpoint's bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            updated: now,
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Changes the limit, keeping the tokens saved up (cut to the new burst).
    pub fn set_limit(&mut self, limit: RateLimit, now: Instant) {
        self.refill(now);
        self.limit = limit;
        self.tokens = self.tokens.min(f64::from(limit.burst.max(1)));
    }

    /// `None` when an attempt may go now; otherwise how long until one may.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            return None;
        }
        let missing = 1.0 - self.tokens;
        Some(Duration::from_secs_f64(missing / self.rate()))
    }

    /// Spends one token; call only after [`TokenBucket::wait`] said yes.
    pub fn take(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    fn rate(&self) -> f64 {
        f64::from(self.limit.per_second.max(1))
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now;
        let burst = f64::from(self.limit.burst.max(1));
        self.tokens = (self.tokens + elapsed * self.rate()).min(burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(per_second: u32, burst: u32) -> (TokenBucket, Instant) {
        let now = Instant::now();
        (TokenBucket::new(RateLimit { per_second, burst }, now), now)
    }

    fn take_all(b: &mut TokenBucket, now: Instant) -> usize {
        let mut n = 0;
        while b.wait(now).is_none() {
            b.take();
            n += 1;
        }
        n
    }

    #[test]
    fn a_full_bucket_lets_the_burst_through_then_spaces_attempts() {
        let (mut b, t0) = bucket(10, 3);
        assert_eq!(take_all(&mut b, t0), 3);
        let wait = b.wait(t0).unwrap();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert_eq!(take_all(&mut b, t0 + Duration::from_millis(100)), 1);
        assert_eq!(take_all(&mut b, t0 + Duration::from_millis(150)), 0);
    }

    #[test]
    fn over_a_long_run_the_rate_holds() {
        let (mut b, t0) = bucket(5, 2);
        let mut sent = 0;
        for ms in (0..=10_000).step_by(10) {
            sent += take_all(&mut b, t0 + Duration::from_millis(ms));
        }
        // 2 at once, then 5 a second for 10 s.
        assert_eq!(sent, 2 + 50);
    }

    #[test]
    fn a_quiet_spell_saves_up_no_more_than_the_burst() {
        let (mut b, t0) = bucket(100, 4);
        take_all(&mut b, t0);
        assert_eq!(take_all(&mut b, t0 + Duration::from_secs(60)), 4);
    }

    #[test]
    fn a_lower_limit_cuts_the_saved_tokens() {
        let (mut b, t0) = bucket(100, 50);
        b.set_limit(
            RateLimit {
                per_second: 1,
                burst: 2,
            },
            t0,
        );
        assert_eq!(take_all(&mut b, t0), 2);
        let wait = b.wait(t0).unwrap();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
    }
}
