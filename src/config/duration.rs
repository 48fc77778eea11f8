//! Human-readable durations: `"500ms"`, `"30s"`, `"2m"`, `"8h"`, `"1d"`.
//!
//! Our own parser rather than a crate: the grammar is five units and a whole
//! number, and owning it keeps the error text exactly what an operator needs.
//! A bare integer (`30` or `"30"`) means seconds, matching how most Kafka and
//! PostgreSQL settings are written.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// What every duration error says is accepted, so the fix is in the message.
const EXPECTED: &str = "expected a number followed by ms, s, m, h or d";

/// Units from largest to smallest with their length in milliseconds.
/// [`format()`] walks this order to pick the largest exact unit.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why a duration string was rejected; its Display is the full message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    /// The input as given, quoted back in the message.
    input: String,
    /// What was wrong with it.
    reason: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for DurationError {}

/// Parses `"<whole number><unit>"` with unit `ms`, `s`, `m`, `h` or `d`, or a
/// bare whole number of seconds. Surrounding whitespace is ignored; anything
/// else (fractions, signs, spaces before the unit) is rejected.
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    let text = input.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err(fail(EXPECTED));
    }
    let unit_ms = match unit {
        "" | "s" => 1_000,
        "ms" => 1,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(fail(EXPECTED)),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .map(Duration::from_millis)
        .ok_or_else(|| fail("too large"))
}

/// Formats a duration in the largest unit that represents it exactly, so that
/// `parse(&format(d)) == d` for every duration [`parse`] can produce.
/// Sub-millisecond precision, which the config never produces, is truncated.
pub fn format(duration: Duration) -> String {
    let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let (unit, size) = UNITS
        .iter()
        .copied()
        .find(|(_, size)| ms % size == 0)
        .unwrap_or(("ms", 1));
    format!("{}{unit}", ms / size)
}

/// Builds a [`Duration`] from a TOML integer, which means seconds.
fn from_seconds<E: de::Error>(seconds: i64) -> Result<Duration, E> {
    u64::try_from(seconds)
        .map(Duration::from_secs)
        .map_err(|_| E::custom(format!("invalid duration {seconds}: must not be negative")))
}

/// Accepts one duration as a string or an integer number of seconds.
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"500ms\", \"30s\", \"2m\", \"8h\" or \"1d\"")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Duration, E> {
        parse(value).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Duration, E> {
        from_seconds(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(value))
    }
}

/// `deserialize_with` for a single [`Duration`] field.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

/// Seed that deserializes one element of a schedule with [`DurationVisitor`],
/// so each element error keeps its index in the reported key.
struct DurationSeed;

impl<'de> de::DeserializeSeed<'de> for DurationSeed {
    type Value = Duration;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Accepts a list of durations as an array or as one comma-separated string;
/// the string form exists because environment variables cannot hold arrays
/// readably (`TRACKWIRE_DELIVERY__RETRY_SCHEDULE=100ms,200ms`).
struct ScheduleVisitor;

impl<'de> Visitor<'de> for ScheduleVisitor {
    type Value = Vec<Duration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of durations, as an array or a comma-separated string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<Duration>, E> {
        if value.trim().is_empty() {
            return Ok(Vec::new());
        }
        value
            .split(',')
            .map(|part| parse(part).map_err(E::custom))
            .collect()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Duration>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(duration) = seq.next_element_seed(DurationSeed)? {
            out.push(duration);
        }
        Ok(out)
    }
}

/// `deserialize_with` for a list of durations such as `delivery.retry_schedule`.
pub fn deserialize_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Duration>, D::Error> {
    deserializer.deserialize_any(ScheduleVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_parses_to_its_length() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn a_bare_number_means_seconds() {
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse(" 7s "), Ok(Duration::from_secs(7)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn malformed_durations_are_rejected_with_the_input_quoted() {
        for bad in ["", "s", "10x", "1.5s", "-3s", "3 s", "ms10", "10msx", "10S"] {
            let err = parse(bad).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!("invalid duration {bad:?}: {EXPECTED}")
            );
        }
    }

    #[test]
    fn overflowing_durations_are_rejected() {
        let err = parse("99999999999999999999d").expect_err("overflow");
        assert!(err.to_string().contains("too large"), "{err}");
        let err = parse("18446744073709551615d").expect_err("overflow");
        assert!(err.to_string().contains("too large"), "{err}");
    }

    #[test]
    fn format_picks_the_largest_exact_unit_and_round_trips() {
        let cases = [
            ("0s", Duration::ZERO),
            ("500ms", Duration::from_millis(500)),
            ("1500ms", Duration::from_millis(1500)),
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("90s", Duration::from_secs(90)),
            ("8h", Duration::from_secs(8 * 3600)),
            ("1d", Duration::from_secs(86_400)),
            ("36h", Duration::from_secs(36 * 3600)),
        ];
        for (text, duration) in cases {
            assert_eq!(format(duration), text);
            assert_eq!(parse(text), Ok(duration));
        }
    }

    #[test]
    fn deserializers_accept_strings_integers_and_lists() {
        let value: toml::Value = "d = 3".parse::<toml::Table>().expect("toml")["d"].clone();
        assert_eq!(deserialize(value).ok(), Some(Duration::from_secs(3)));

        let value = toml::Value::Integer(-1);
        let err = deserialize(value).expect_err("negative");
        assert!(err.to_string().contains("must not be negative"), "{err}");

        let value = toml::Value::String("100ms, 2s".into());
        assert_eq!(
            deserialize_list(value).ok(),
            Some(vec![Duration::from_millis(100), Duration::from_secs(2)])
        );

        let value = toml::Value::Array(vec!["1m".into(), 5.into()]);
        assert_eq!(
            deserialize_list(value).ok(),
            Some(vec![Duration::from_secs(60), Duration::from_secs(5)])
        );
    }
}
