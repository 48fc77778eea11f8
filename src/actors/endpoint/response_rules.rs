//! The Standard Webhooks response rules: what an answer asks of the sender
//! beyond "acknowledged or not". Pure: the caller passes the time.
//!
//! - `410 Gone`: the receiver is gone for good; the endpoint is disabled
//!   until the partner enables it again.
//! - `429 Too Many Requests` and `503 Service Unavailable` with a valid
//!   `Retry-After` (delay-seconds or an HTTP date): the whole endpoint waits
//!   that long, capped by `delivery.retry_after_max`, and the delivery does
//!   not spend a retry.
//! - Anything else outside 2xx (429 and 503 without `Retry-After` too) is an
//!   ordinary failure, retried on the schedule.

use std::time::{Duration, SystemTime};

use super::attempt::AttemptResult;

/// The shortest wait a `Retry-After` leads to. `Retry-After: 0` (or a date
/// in the past) would otherwise retry at once, and since no retry is spent,
/// a receiver answering so forever would be asked as fast as it answers.
pub const MIN_WAIT: Duration = Duration::from_secs(1);

/// What an attempt's answer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A 2xx: acknowledged.
    Ack,
    /// `410 Gone`: disable the endpoint.
    Gone,
    /// `429`/`503` with `Retry-After`: the endpoint waits this long (already
    /// capped) and the delivery keeps its retries.
    WaitFor(Duration),
    /// Any other failure: charged to the delivery's retries.
    Failure,
}

/// Applies the rules to `result`, capping a requested wait at `cap`.
pub fn rule_for(result: &AttemptResult, now: SystemTime, cap: Duration) -> Rule {
    if result.acked() {
        return Rule::Ack;
    }
    match result.status {
        Some(410) => Rule::Gone,
        Some(429 | 503) => retry_after(&result.headers)
            .and_then(|value| parse_retry_after(value, now))
            .map_or(Rule::Failure, |wait| {
                Rule::WaitFor(wait.clamp(MIN_WAIT, cap.max(MIN_WAIT)))
            }),
        _ => Rule::Failure,
    }
}

fn retry_after(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .map(|(_, value)| value.as_str())
}

/// Reads a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP date (IMF-fixdate, or the obsolete RFC 850 and asctime forms a
/// recipient must accept). A date in the past is no wait. `None` when the
/// value is neither, which leaves the answer an ordinary failure.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than u64 holds is still "a very long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::endpoint::Failure;

    const CAP: Duration = Duration::from_secs(600);

    fn answer(status: u16, headers: &[(&str, &str)]) -> AttemptResult {
        AttemptResult {
            started_at: chrono::Utc::now(),
            latency: Duration::from_millis(5),
            status: Some(status),
            excerpt: None,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            failure: (!(200..300).contains(&status)).then_some(Failure::Status(status)),
        }
    }

    fn now() -> SystemTime {
        // Sun, 06 Nov 1994 08:49:37 GMT
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn a_2xx_is_an_ack_whatever_its_headers() {
        let r = answer(200, &[("retry-after", "30")]);
        assert_eq!(rule_for(&r, now(), CAP), Rule::Ack);
    }

    #[test]
    fn gone_disables_with_or_without_headers() {
        assert_eq!(rule_for(&answer(410, &[]), now(), CAP), Rule::Gone);
        let r = answer(410, &[("retry-after", "5")]);
        assert_eq!(rule_for(&r, now(), CAP), Rule::Gone);
    }

    #[test]
    fn too_many_requests_and_unavailable_wait_the_seconds_asked() {
        for status in [429, 503] {
            let r = answer(status, &[("Retry-After", "120")]);
            assert_eq!(
                rule_for(&r, now(), CAP),
                Rule::WaitFor(Duration::from_secs(120))
            );
        }
    }

    #[test]
    fn an_http_date_waits_until_that_moment() {
        let r = answer(503, &[("retry-after", "Sun, 06 Nov 1994 08:51:37 GMT")]);
        assert_eq!(
            rule_for(&r, now(), CAP),
            Rule::WaitFor(Duration::from_secs(120))
        );
        // The obsolete forms a recipient must still read.
        for old in ["Sunday, 06-Nov-94 08:51:37 GMT", "Sun Nov  6 08:51:37 1994"] {
            assert_eq!(
                parse_retry_after(old, now()),
                Some(Duration::from_secs(120)),
                "{old}"
            );
        }
    }

    #[test]
    fn the_wait_is_capped_and_never_below_the_floor() {
        let long = answer(429, &[("retry-after", "86400")]);
        assert_eq!(rule_for(&long, now(), CAP), Rule::WaitFor(CAP));
        let huge = answer(429, &[("retry-after", "99999999999999999999999")]);
        assert_eq!(rule_for(&huge, now(), CAP), Rule::WaitFor(CAP));
        let zero = answer(429, &[("retry-after", "0")]);
        assert_eq!(rule_for(&zero, now(), CAP), Rule::WaitFor(MIN_WAIT));
        let past = answer(503, &[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]);
        assert_eq!(rule_for(&past, now(), CAP), Rule::WaitFor(MIN_WAIT));
    }

    #[test]
    fn without_a_readable_retry_after_they_are_ordinary_failures() {
        for headers in [
            &[][..],
            &[("retry-after", "soon")][..],
            &[("retry-after", "-5")][..],
            &[("retry-after", "1.5")][..],
            &[("retry-after", "")][..],
        ] {
            let r = answer(429, headers);
            assert_eq!(rule_for(&r, now(), CAP), Rule::Failure, "{headers:?}");
        }
    }

    #[test]
    fn other_statuses_stay_ordinary_failures_even_with_retry_after() {
        for status in [400, 404, 500, 502, 504] {
            let r = answer(status, &[("retry-after", "30")]);
            assert_eq!(rule_for(&r, now(), CAP), Rule::Failure, "{status}");
        }
    }
}
