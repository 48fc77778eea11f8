//! Turning a row change into an event: which columns mean what and which
//! status is which event type come from `[cdc]` in the configuration.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::debezium::{Change, Op, Row};
use crate::config::CdcConfig;
use crate::schema::{mask_phone, EventData, EventType, TimeWindow, TrackingUrlTemplate};

/// What a change becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// An event to deliver.
    Event(Box<EventData>),
    /// Nothing to deliver, for this reason.
    Skip(SkipReason),
}

/// Why a well-formed change yields no event. Each is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A Kafka tombstone.
    Tombstone,
    /// A deleted row.
    Delete,
    /// A snapshot read: the current state, not a transition.
    Snapshot,
    /// An update that left the status as it was.
    NoTransition,
    /// An insert while `cdc.emit_on_create` is off.
    CreateIgnored,
    /// A status with no event type in `cdc.status_map`.
    UnmappedStatus,
}

impl SkipReason {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Tombstone => "tombstone",
            SkipReason::Delete => "delete",
            SkipReason::Snapshot => "snapshot",
            SkipReason::NoTransition => "no_transition",
            SkipReason::CreateIgnored => "create_ignored",
            SkipReason::UnmappedStatus => "unmapped_status",
        }
    }
}

/// Why a change cannot be turned into an event. The record is quarantined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    /// An insert or update without the row after it.
    #[error("the change has no \"after\" row")]
    MissingAfter,
    /// A required column is absent or null.
    #[error("column {0:?} is missing or null")]
    MissingColumn(String),
    /// A column has a value of the wrong kind.
    #[error("column {column:?} must be {expected}")]
    WrongType {
        /// The column.
        column: String,
        /// What it should hold.
        expected: &'static str,
    },
}

/// Maps changes to events, following the `[cdc]` configuration.
#[derive(Debug, Clone)]
pub struct Mapper {
    cdc: CdcConfig,
    status_map: HashMap<String, EventType>,
    tracking_url: Option<TrackingUrlTemplate>,
}

impl Mapper {
    /// Builds a mapper. The configuration was validated at load, so every
    /// mapped event type name is known; an unknown one is dropped.
    pub fn new(cdc: &CdcConfig) -> Self {
        let status_map = cdc
            .status_map
            .iter()
            .filter_map(|(status, ty)| EventType::from_str(ty).ok().map(|t| (status.clone(), t)))
            .collect();
        Mapper {
            cdc: cdc.clone(),
            status_map,
            tracking_url: None,
        }
    }

    /// Gives every event a tracking URL made from `template`.
    pub fn with_tracking_url(mut self, template: Option<TrackingUrlTemplate>) -> Self {
        self.tracking_url = template;
        self
    }

    /// Maps one change.
    pub fn map(&self, change: &Change) -> Result<Mapped, MappingError> {
        match change.op {
            Op::Delete => return Ok(Mapped::Skip(SkipReason::Delete)),
            Op::Read => return Ok(Mapped::Skip(SkipReason::Snapshot)),
            Op::Create if !self.cdc.emit_on_create => {
                return Ok(Mapped::Skip(SkipReason::CreateIgnored))
            }
            Op::Create | Op::Update => {}
        }
        let after = change.after.as_ref().ok_or(MappingError::MissingAfter)?;
        let cols = &self.cdc.columns;
        let status = required_text(after, &cols.status)?;
        let previous_status = match (&change.before, change.op) {
            (Some(before), Op::Update) => text(before, &cols.status)?,
            _ => None,
        };
        if previous_status.as_deref() == Some(status.as_str()) {
            return Ok(Mapped::Skip(SkipReason::NoTransition));
        }
        let Some(&event_type) = self.status_map.get(&status) else {
            return Ok(Mapped::Skip(SkipReason::UnmappedStatus));
        };
        let order_id = required_text(after, &cols.order_id)?;
        let partner_id = required_text(after, &cols.partner_id)?;
        let occurred_at = match opt_col(&cols.occurred_at)
            .map(|c| timestamp(after, c))
            .transpose()?
            .flatten()
        {
            Some(at) => at,
            None => source_time(change),
        };
        let o = opt_col;
        let mut data = EventData {
            event_id: event_id(change, &order_id, &status),
            event_type,
            occurred_at,
            // Assigned in the ingest transaction, where the order's counter is.
            sequence: 0,
            tracking_url: self
                .tracking_url
                .as_ref()
                .map(|t| t.url(&partner_id, &order_id)),
            is_test: false,
            partner_id,
            order_id,
            merchant_order_ref: optional(after, o(&cols.merchant_order_ref), text)?,
            customer_id: optional(after, o(&cols.customer_id), text)?,
            status,
            previous_status,
            rider_name: optional(after, o(&cols.rider_name), text)?,
            rider_phone_masked: optional(after, o(&cols.rider_phone), text)?
                .map(|p| mask_phone(&p)),
            delivery_otp: optional(after, o(&cols.delivery_otp), text)?.map(Into::into),
            estimated_delivery_window: None,
            delivery_timestamp: optional(after, o(&cols.delivery_timestamp), timestamp)?,
            delivery_address_confirmed: optional(
                after,
                o(&cols.delivery_address_confirmed),
                boolean,
            )?,
            failure_reason_code: optional(after, o(&cols.failure_reason_code), text)?,
            failure_reason: optional(after, o(&cols.failure_reason), text)?,
            attempt_number: optional(after, o(&cols.attempt_number), integer)?,
            return_id: optional(after, o(&cols.return_id), text)?,
            return_reason_code: optional(after, o(&cols.return_reason_code), text)?,
            return_reason: optional(after, o(&cols.return_reason), text)?,
            return_condition_flags: optional(after, o(&cols.return_condition_flags), string_list)?,
            pickup_timestamp: optional(after, o(&cols.pickup_timestamp), timestamp)?,
        };
        let start = optional(after, o(&cols.eta_start), timestamp)?;
        let end = optional(after, o(&cols.eta_end), timestamp)?;
        if let (Some(start), Some(end)) = (start, end) {
            data.estimated_delivery_window = Some(TimeWindow { start, end });
        }
        data.clear_fields_not_applicable();
        Ok(Mapped::Event(Box::new(data)))
    }
}

fn opt_col(c: &Option<String>) -> Option<&str> {
    c.as_deref().filter(|c| !c.is_empty())
}

fn optional<T>(
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
fn text(row: &Row, column: &str) -> Result<Option<String>, MappingError> {
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(wrong(column, "a string or a number")),
    }
}

fn required_text(row: &Row, column: &str) -> Result<String, MappingError> {
    match text(row, column)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(MappingError::MissingColumn(column.to_owned())),
    }
}

fn integer(row: &Row, column: &str) -> Result<Option<i64>, MappingError> {
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
fn boolean(row: &Row, column: &str) -> Result<Option<bool>, MappingError> {
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
fn string_list(row: &Row, column: &str) -> Result<Option<Vec<String>>, MappingError> {
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
fn timestamp(row: &Row, column: &str) -> Result<Option<DateTime<Utc>>, MappingError> {
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

/// When the source committed the change; falls back to when the connector saw
/// it, and last to now.
fn source_time(change: &Change) -> DateTime<Utc> {
    change
        .source
        .get("ts_ms")
        .and_then(Value::as_i64)
        .or(change.ts_ms)
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
}

/// The event id is a hash of the change's identity: the table, the row, the
/// source position (binlog file and position, LSN or GTID, whichever the
/// connector gives) and the new status. Consuming the same record again gives
/// the same id, which is what lets partners deduplicate.
fn event_id(change: &Change, order_id: &str, status: &str) -> String {
    let field = |k: &str| match change.source.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    // The position alone identifies the change; the connector's own clock is
    // used only when the source gives no position, since a connector that
    // re-reads the log after a restart stamps the same change anew.
    let position = [
        field("file"),
        field("pos"),
        field("row"),
        field("lsn"),
        field("gtid"),
    ];
    let clocks = if position.iter().all(String::is_empty) {
        [
            field("ts_ms"),
            change.ts_ms.map(|t| t.to_string()).unwrap_or_default(),
        ]
    } else {
        Default::default()
    };
    let mut h = Sha256::new();
    let identity = [
        field("name"),
        field("db"),
        field("table"),
        order_id.to_owned(),
    ];
    for part in identity
        .iter()
        .chain(&position)
        .chain(&clocks)
        .chain([&status.to_owned()])
    {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    format!("evt_{}", hex::encode(&h.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingest::debezium::{decode, Record};

    fn mapper() -> Mapper {
        let config =
            crate::config::load_from(None, Vec::<(String, String)>::new()).expect("defaults load");
        Mapper::new(&config.cdc)
    }

    fn change(value: serde_json::Value) -> Change {
        match decode(Some(&serde_json::to_vec(&value).unwrap())).unwrap() {
            Record::Change(c) => c,
            Record::Tombstone => panic!("not a change"),
        }
    }

    fn envelope(
        op: &str,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> serde_json::Value {
        json!({
            "op": op,
            "before": before,
            "after": after,
            "source": {"name": "oms", "db": "oms", "table": "orders", "file": "bin.1", "pos": 42, "row": 0, "ts_ms": 1_700_000_000_000i64},
            "ts_ms": 1_700_000_000_500i64,
        })
    }

    fn event(mapped: Mapped) -> EventData {
        match mapped {
            Mapped::Event(e) => *e,
            Mapped::Skip(reason) => panic!("skipped: {reason:?}"),
        }
    }

    #[test]
    fn a_status_transition_becomes_an_event_with_its_fields() {
        let after = json!({
            "id": 1001, "partner_id": "acme", "status": "DELIVERED", "updated_at": "2026-11-27 10:00:00",
            "delivery_timestamp": 1_795_000_000_000i64, "delivery_address_confirmed": 1, "attempt_number": "2",
            "rider_name": "Ravi", "delivery_otp": "1234",
        });
        let e = event(
            mapper()
                .map(&change(envelope(
                    "u",
                    json!({"status": "OUT_FOR_DELIVERY"}),
                    after,
                )))
                .unwrap(),
        );
        assert_eq!(e.event_type, EventType::Delivered);
        assert_eq!(e.order_id, "1001", "numeric ids are taken as text");
        assert_eq!(e.previous_status.as_deref(), Some("OUT_FOR_DELIVERY"));
        assert_eq!(e.occurred_at.to_rfc3339(), "2026-11-27T10:00:00+00:00");
        assert_eq!(
            e.delivery_timestamp.unwrap().timestamp_millis(),
            1_795_000_000_000
        );
        assert_eq!(e.delivery_address_confirmed, Some(true));
        assert_eq!(e.attempt_number, Some(2));
        assert!(
            e.rider_name.is_none() && e.delivery_otp.is_none(),
            "rider fields belong to out_for_delivery only"
        );
    }

    #[test]
    fn the_same_change_always_gets_the_same_id_and_another_position_another() {
        let m = mapper();
        let after = json!({"id": "A", "partner_id": "acme", "status": "CONFIRMED"});
        let a = event(
            m.map(&change(envelope("c", json!(null), after.clone())))
                .unwrap(),
        );
        let b = event(
            m.map(&change(envelope("c", json!(null), after.clone())))
                .unwrap(),
        );
        assert_eq!(a.event_id, b.event_id);
        let mut moved = envelope("c", json!(null), after);
        moved["source"]["pos"] = json!(43);
        let c = event(m.map(&change(moved)).unwrap());
        assert_ne!(a.event_id, c.event_id);
        // The connector's own clock does not change the id when a position
        // is known (a connector restart re-reads the same change).
        let mut later = envelope(
            "c",
            json!(null),
            json!({"id": "A", "partner_id": "acme", "status": "CONFIRMED"}),
        );
        later["ts_ms"] = json!(1_800_000_000_000i64);
        assert_eq!(event(m.map(&change(later)).unwrap()).event_id, a.event_id);
    }

    #[test]
    fn non_transitions_deletes_snapshots_and_unknown_statuses_are_skipped() {
        let m = mapper();
        let row = json!({"id": "A", "partner_id": "acme", "status": "DELIVERED"});
        let skip = |v| m.map(&change(v)).unwrap();
        assert_eq!(
            skip(envelope("u", row.clone(), row.clone())),
            Mapped::Skip(SkipReason::NoTransition)
        );
        assert_eq!(
            skip(envelope("d", row.clone(), json!(null))),
            Mapped::Skip(SkipReason::Delete)
        );
        assert_eq!(
            skip(envelope("r", json!(null), row)),
            Mapped::Skip(SkipReason::Snapshot)
        );
        let odd = json!({"id": "A", "partner_id": "acme", "status": "PACKED"});
        assert_eq!(
            skip(envelope("c", json!(null), odd)),
            Mapped::Skip(SkipReason::UnmappedStatus)
        );
    }

    #[test]
    fn malformed_rows_name_the_column() {
        let m = mapper();
        let err = |after| {
            m.map(&change(envelope("c", json!(null), after)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(json!({"id": "A", "status": "CONFIRMED"})),
            "column \"partner_id\" is missing or null"
        );
        assert_eq!(
            err(
                json!({"id": "A", "partner_id": "acme", "status": "DELIVERED", "delivery_address_confirmed": "maybe"})
            ),
            "column \"delivery_address_confirmed\" must be a boolean"
        );
        assert!(err(json!({"id": "A", "partner_id": "acme", "status": "DELIVERED", "delivery_timestamp": "yesterday"}))
            .starts_with("column \"delivery_timestamp\" must be a timestamp"));
        assert_eq!(
            err(json!({"id": ["x"], "partner_id": "acme", "status": "CONFIRMED"})),
            "column \"id\" must be a string or a number"
        );
    }

    #[test]
    fn condition_flags_come_as_arrays_json_text_or_comma_lists() {
        let m = mapper();
        for flags in [json!(["a", "b"]), json!("[\"a\",\"b\"]"), json!("a, b")] {
            let after = json!({"id": "A", "partner_id": "acme", "status": "RETURN_INITIATED", "return_condition_flags": flags});
            let e = event(
                m.map(&change(envelope(
                    "u",
                    json!({"status": "DELIVERED"}),
                    after,
                )))
                .unwrap(),
            );
            assert_eq!(
                e.return_condition_flags,
                Some(vec!["a".to_owned(), "b".to_owned()])
            );
        }
    }

    #[test]
    fn the_rider_phone_is_masked_before_anything_else_sees_it() {
        let after = json!({"id": "A", "partner_id": "acme", "status": "OUT_FOR_DELIVERY", "rider_phone": "+91 98765 43210"});
        let e = event(
            mapper()
                .map(&change(envelope(
                    "u",
                    json!({"status": "CONFIRMED"}),
                    after,
                )))
                .unwrap(),
        );
        assert_eq!(e.rider_phone_masked.as_deref(), Some("+91 ***** ***10"));
    }
}
