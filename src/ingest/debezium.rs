//! Decoding Debezium change events (JSON converter), with or without the
//! `{"schema": …, "payload": …}` wrapper.

use serde_json::{Map, Value};

/// A row as Debezium renders it: column name to value.
pub type Row = Map<String, Value>;

/// The operation that produced a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `c`: a row was inserted.
    Create,
    /// `u`: a row was updated.
    Update,
    /// `r`: a row was read by an initial or incremental snapshot.
    Read,
    /// `d`: a row was deleted.
    Delete,
}

/// One change of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What happened.
    pub op: Op,
    /// The row before the change (absent for inserts, or when the source does
    /// not capture it).
    pub before: Option<Row>,
    /// The row after the change (absent for deletes).
    pub after: Option<Row>,
    /// Debezium's `source` block: connector, database, table and position.
    pub source: Row,
    /// When the connector processed the change (envelope `ts_ms`).
    pub ts_ms: Option<i64>,
}

/// A decoded Kafka record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A tombstone (null value), written after a delete for log compaction.
    Tombstone,
    /// A row change.
    Change(Change),
}

/// Why a record is not a Debezium change event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// The JSON is not an object.
    #[error("expected a JSON object (a Debezium change event), found {0}")]
    NotAnObject(&'static str),
    /// The envelope has no `op`.
    #[error("the change event has no \"op\" field")]
    MissingOp,
    /// `op` is not one of c, u, r, d.
    #[error("unknown operation {0:?} (expected c, u, r or d)")]
    UnknownOp(String),
    /// A field of the envelope has the wrong JSON type.
    #[error("field {field:?} must be {expected}")]
    WrongType {
        /// Envelope field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes a record value. `None` or an empty value is a tombstone.
pub fn decode(value: Option<&[u8]>) -> Result<Record, DecodeError> {
    let bytes = match value {
        None => return Ok(Record::Tombstone),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => return Ok(Record::Tombstone),
        Some(b) => b,
    };
    let json: Value = serde_json::from_slice(bytes)?;
    let Value::Object(mut envelope) = json else {
        return Err(DecodeError::NotAnObject(kind(&json)));
    };
    // With the schema wrapper the change sits under "payload"; a null payload
    // is the wrapped form of a tombstone.
    if envelope.contains_key("schema") && envelope.contains_key("payload") {
        match envelope.remove("payload") {
            Some(Value::Object(inner)) => envelope = inner,
            Some(Value::Null) | None => return Ok(Record::Tombstone),
            Some(_) => {
                return Err(DecodeError::WrongType {
                    field: "payload",
                    expected: "an object or null",
                })
            }
        }
    }
    let op = match envelope.get("op") {
        None | Some(Value::Null) => return Err(DecodeError::MissingOp),
        Some(Value::String(s)) => match s.as_str() {
            "c" => Op::Create,
            "u" => Op::Update,
            "r" => Op::Read,
            "d" => Op::Delete,
            other => return Err(DecodeError::UnknownOp(other.to_owned())),
        },
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "op",
                expected: "a string",
            })
        }
    };
    let row = |field: &'static str, envelope: &mut Row| match envelope.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(row)) => Ok(Some(row)),
        Some(_) => Err(DecodeError::WrongType {
            field,
            expected: "an object or null",
        }),
    };
    let before = row("before", &mut envelope)?;
    let after = row("after", &mut envelope)?;
    let source = row("source", &mut envelope)?.unwrap_or_default();
    let ts_ms = match envelope.get("ts_ms") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or(DecodeError::WrongType {
            field: "ts_ms",
            expected: "an integer",
        })?),
    };
    Ok(Record::Change(Change {
        op,
        before,
        after,
        source,
        ts_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_envelope_decodes() {
        let raw = br#"{"before":{"status":"A"},"after":{"status":"B"},"op":"u","source":{"table":"orders"},"ts_ms":5}"#;
        let Record::Change(c) = decode(Some(raw)).unwrap() else {
            panic!("expected a change")
        };
        assert_eq!(c.op, Op::Update);
        assert_eq!(c.after.unwrap()["status"], "B");
        assert_eq!(c.ts_ms, Some(5));
    }

    #[test]
    fn the_schema_wrapper_is_unwrapped() {
        let raw = br#"{"schema":{"type":"struct"},"payload":{"before":null,"after":{"status":"B"},"op":"c","source":{}}}"#;
        let Record::Change(c) = decode(Some(raw)).unwrap() else {
            panic!("expected a change")
        };
        assert_eq!(c.op, Op::Create);
        assert!(c.before.is_none());
    }

    #[test]
    fn null_values_and_null_payloads_are_tombstones() {
        assert_eq!(decode(None).unwrap(), Record::Tombstone);
        assert_eq!(decode(Some(b"")).unwrap(), Record::Tombstone);
        assert_eq!(
            decode(Some(br#"{"schema":{},"payload":null}"#)).unwrap(),
            Record::Tombstone
        );
    }

    #[test]
    fn malformed_records_say_what_is_wrong() {
        assert!(matches!(
            decode(Some(b"{not json")),
            Err(DecodeError::NotJson(_))
        ));
        assert!(matches!(
            decode(Some(b"[1]")),
            Err(DecodeError::NotAnObject("an array"))
        ));
        assert!(matches!(decode(Some(b"{}")), Err(DecodeError::MissingOp)));
        let e = decode(Some(br#"{"op":"x"}"#)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown operation \"x\" (expected c, u, r or d)"
        );
        assert!(matches!(
            decode(Some(br#"{"op":"u","after":"s"}"#)),
            Err(DecodeError::WrongType { field: "after", .. })
        ));
    }
}
