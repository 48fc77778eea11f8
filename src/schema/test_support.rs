//! What the tests of every payload version share: a fixed clock, the
//! version's schema as a validator, and rendered synthetic events.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{json_schema, render, synthetic, EventType, SchemaVersion};

/// A fixed instant, so rendered bytes are comparable.
pub fn now() -> DateTime<Utc> {
    "2025-03-14T09:26:53.589Z".parse().unwrap()
}

/// The version's JSON Schema.
pub fn schema(version: SchemaVersion) -> Value {
    serde_json::from_str(json_schema(version)).unwrap()
}

/// A validator for the version. Formats are only annotations in draft
/// 2020-12 unless asked for; ask, so a malformed timestamp fails here rather
/// than at a partner.
pub fn validator(version: SchemaVersion) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema(version))
        .unwrap()
}

/// A synthetic event of this type, rendered in the version.
pub fn rendered(event_type: EventType, version: SchemaVersion) -> Value {
    let event = synthetic(event_type, "partner_1", now());
    serde_json::from_slice(&render(&event, version)).unwrap()
}

/// Every validation error, with where it is.
pub fn errors(validator: &jsonschema::Validator, payload: &Value) -> Vec<String> {
    validator
        .iter_errors(payload)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}
