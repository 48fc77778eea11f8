//! Reading typed values out of a Debezium row: the forms a MySQL connector
//! renders each kind of column in.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::MappingError;
use crate::ingest::debezium::Row;

pub(super) fn opt_col(c: &Option<String>) -> Option<&str> {
    c.as_deref().filter(|c| !c.is_empty())
}

pub(super) fn optional<T>(
    row: &Row,
    column: Option<&str>,
    read: fn(&Row, &str) -> Result<Option<T>, MappingError>,
) -> Result<Option<T>, MappingError> {
    match column {
        Some(c) => read(row, c),
        None => Ok(None),
    }
}

fn wrong(column: &str, expected: &'static str) -> MappingError {
    MappingError::WrongType {
        column: column.to_owned(),
        expected,
    }
}

/// A text column; numbers are taken as their decimal form (ids are often
/// integers in the OMS).
pub(super) fn text(row: &Row, column: &str) -> Result<Option<String>, MappingError> {
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(wrong(column, "a string or a number")),
    }
}

pub(super) fn required_text(row: &Row, column: &str) -> Result<String, MappingError> {
    match text(row, column)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(MappingError::MissingColumn(column.to_owned())),
    }
}

pub(super) fn integer(row: &Row, column: &str) -> Result<Option<i64>, MappingError> {
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong(column, "an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| wrong(column, "an integer")),
        Some(_) => Err(wrong(column, "an integer")),
    }
}

/// Booleans arrive as JSON booleans, as MySQL TINYINT(1) (0/1), or as text.
pub(super) fn boolean(row: &Row, column: &str) -> Result<Option<bool>, MappingError> {
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(wrong(column, "a boolean")),
        },
        Some(_) => Err(wrong(column, "a boolean")),
    }
}

/// A list of strings: a JSON array, a MySQL JSON column (a string holding an
/// array), or comma-separated text.
pub(super) fn string_list(row: &Row, column: &str) -> Result<Option<Vec<String>>, MappingError> {
    let from_array = |items: &[Value]| {
        items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| wrong(column, "a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => from_array(items).map(Some),
        Some(Value::String(s)) if s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(items)) => from_array(&items).map(Some),
                _ => Err(wrong(column, "a list of strings")),
            }
        }
        Some(Value::String(s)) => Ok(Some(
            s.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Some(_) => Err(wrong(column, "a list of strings")),
    }
}

/// Timestamps as Debezium renders them: RFC 3339 text (ZonedTimestamp), a
/// naive `YYYY-MM-DD HH:MM:SS[.f]` taken as UTC, or epoch seconds,
/// milliseconds (Timestamp) or microseconds (MicroTimestamp), told apart by
/// magnitude.
pub(super) fn timestamp(row: &Row, column: &str) -> Result<Option<DateTime<Utc>>, MappingError> {
    const EXPECTED: &str =
        "a timestamp (RFC 3339 text or epoch seconds, milliseconds or microseconds)";
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Ok(Some(t.with_timezone(&Utc)));
            }
            for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                    return Ok(Some(Utc.from_utc_datetime(&t)));
                }
            }
            Err(wrong(column, EXPECTED))
        }
        Some(Value::Number(n)) => {
            let v = n.as_i64().ok_or_else(|| wrong(column, EXPECTED))?;
            let t = if v.abs() >= 100_000_000_000_000 {
                DateTime::from_timestamp_micros(v)
            } else if v.abs() >= 100_000_000_000 {
                DateTime::from_timestamp_millis(v)
            } else {
                DateTime::from_timestamp(v, 0)
            };
            t.map(Some).ok_or_else(|| wrong(column, EXPECTED))
        }
        Some(_) => Err(wrong(column, EXPECTED)),
    }
}
