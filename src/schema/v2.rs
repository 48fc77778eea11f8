//! Schema v2: the fields nested by concern (`order`, `rider`, `delivery`, `return`),
//! plus a per-order `sequence` and a `tracking_url`. Every key is always present, at
//! every level: the nested objects are never `null`, their fields are, where they do
//! not apply to the event type. Validated by `schemas/v2.json`.

use serde::Serialize;

use super::wire::{Timestamp, Window};
use super::{EventData, EventType, SchemaVersion};

/// The v2 payload, borrowing from an [`EventData`]. Field order is the wire key order.
///
/// As in v1 there is no `skip_serializing_if` and no `Debug` (the OTP is in clear).
#[derive(Serialize)]
pub struct PayloadV2<'a> {
    schema_version: SchemaVersion,
    event_id: &'a str,
    event_type: EventType,
    occurred_at: Timestamp,
    sequence: i64,
    is_test: bool,
    partner_id: &'a str,
    tracking_url: Option<&'a str>,
    order: Order<'a>,
    rider: Rider<'a>,
    delivery: Delivery<'a>,
    #[serde(rename = "return")]
    return_: Return<'a>,
}

/// `order`: the order and its status transition.
#[derive(Serialize)]
struct Order<'a> {
    id: &'a str,
    merchant_order_ref: Option<&'a str>,
    customer_id: Option<&'a str>,
    status: &'a str,
    previous_status: Option<&'a str>,
}

/// `rider`: who carries the parcel (out_for_delivery).
#[derive(Serialize)]
struct Rider<'a> {
    name: Option<&'a str>,
    phone_masked: Option<&'a str>,
}

/// `delivery`: the hand-over, planned or done.
#[derive(Serialize)]
struct Delivery<'a> {
    otp: Option<&'a str>,
    estimated_window: Option<Window>,
    delivered_at: Option<Timestamp>,
    address_confirmed: Option<bool>,
    attempt_number: Option<i64>,
    failure_reason_code: Option<&'a str>,
    failure_reason: Option<&'a str>,
}

/// `return`: the return of the goods (return_*).
#[derive(Serialize)]
struct Return<'a> {
    id: Option<&'a str>,
    reason_code: Option<&'a str>,
    reason: Option<&'a str>,
    condition_flags: Option<&'a [String]>,
    picked_up_at: Option<Timestamp>,
}

impl<'a> PayloadV2<'a> {
    /// The payload for `data`, which must already hold only fields that apply to its type
    /// (see `EventData::as_contract`): this is a field-by-field copy, not a filter.
    pub(crate) fn new(data: &'a EventData) -> Self {
        PayloadV2 {
            schema_version: SchemaVersion::V2,
            event_id: &data.event_id,
            event_type: data.event_type,
            occurred_at: Timestamp(data.occurred_at),
            sequence: data.sequence,
            is_test: data.is_test,
            partner_id: &data.partner_id,
            tracking_url: data.tracking_url.as_deref(),
            order: Order {
                id: &data.order_id,
                merchant_order_ref: data.merchant_order_ref.as_deref(),
                customer_id: data.customer_id.as_deref(),
                status: &data.status,
                previous_status: data.previous_status.as_deref(),
            },
            rider: Rider {
                name: data.rider_name.as_deref(),
                phone_masked: data.rider_phone_masked.as_deref(),
            },
            delivery: Delivery {
                otp: data.delivery_otp.as_ref().map(|otp| otp.expose()),
                estimated_window: data.estimated_delivery_window.map(Window::from),
                delivered_at: data.delivery_timestamp.map(Timestamp),
                address_confirmed: data.delivery_address_confirmed,
                attempt_number: data.attempt_number,
                failure_reason_code: data.failure_reason_code.as_deref(),
                failure_reason: data.failure_reason.as_deref(),
            },
            return_: Return {
                id: data.return_id.as_deref(),
                reason_code: data.return_reason_code.as_deref(),
                reason: data.return_reason.as_deref(),
                condition_flags: data.return_condition_flags.as_deref(),
                picked_up_at: data.pickup_timestamp.map(Timestamp),
            },
        }
    }
}

/// Compact JSON of the v2 payload for `data` (already cleared, see [`PayloadV2::new`]).
pub(crate) fn render(data: &EventData) -> Vec<u8> {
    // Cannot fail, for the same reason as v1: string keys, plain values only.
    serde_json::to_vec(&PayloadV2::new(data)).expect("a v2 payload always serializes")
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::{json, Value};

    use crate::schema::{render, synthetic, Otp, ScopedField};

    use super::*;
    use crate::schema::test_support as support;

    /// The top-level keys, in wire order.
    const KEYS: [&str; 12] = [
        "schema_version",
        "event_id",
        "event_type",
        "occurred_at",
        "sequence",
        "is_test",
        "partner_id",
        "tracking_url",
        "order",
        "rider",
        "delivery",
        "return",
    ];

    fn now() -> DateTime<Utc> {
        support::now()
    }

    fn schema() -> Value {
        support::schema(SchemaVersion::V2)
    }

    fn validator() -> jsonschema::Validator {
        support::validator(SchemaVersion::V2)
    }

    fn rendered(event_type: EventType) -> Value {
        support::rendered(event_type, SchemaVersion::V2)
    }

    use support::errors;

    #[test]
    fn every_event_type_renders_every_key_at_every_level() {
        for event_type in EventType::ALL {
            let body = String::from_utf8(render(
                &synthetic(event_type, "p", now()),
                SchemaVersion::V2,
            ))
            .unwrap();
            assert!(body.starts_with("{\"schema_version\":\"v2\","), "{body}");
            let payload: Value = serde_json::from_str(&body).unwrap();
            let keys: Vec<&str> = payload
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            let mut expected = KEYS.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected);
            for (group, size) in [("order", 5), ("rider", 2), ("delivery", 7), ("return", 5)] {
                assert_eq!(payload[group].as_object().unwrap().len(), size, "{group}");
            }
        }
    }

    #[test]
    fn every_event_type_validates_against_the_published_schema() {
        let validator = validator();
        for event_type in EventType::ALL {
            let payload = rendered(event_type);
            assert_eq!(
                errors(&validator, &payload),
                Vec::<String>::new(),
                "{event_type}"
            );
        }
    }

    #[test]
    fn fields_not_applicable_are_null_and_applicable_ones_are_filled() {
        for event_type in EventType::ALL {
            let payload = rendered(event_type);
            for field in ScopedField::ALL {
                let (group, key) = field.v2_path();
                let value = &payload[group][key];
                assert_eq!(
                    value.is_null(),
                    !field.applies(event_type),
                    "{group}.{key} for {event_type}: {value}"
                );
            }
        }
    }

    #[test]
    fn the_schema_rejects_payloads_that_break_the_contract() {
        let validator = validator();
        let valid = rendered(EventType::OutForDelivery);
        type Breakage = (&'static str, fn(&mut Value));
        let broken: [Breakage; 7] = [
            ("a missing nested key", |p| {
                p["rider"].as_object_mut().unwrap().remove("name");
            }),
            ("a null group", |p| p["return"] = Value::Null),
            ("an extra nested key", |p| p["order"]["extra"] = json!(1)),
            ("the v1 version", |p| p["schema_version"] = json!("v1")),
            ("a sequence below 0", |p| p["sequence"] = json!(-1)),
            ("a field that does not apply", |p| {
                p["return"]["id"] = json!("ret_1")
            }),
            ("a timestamp without milliseconds", |p| {
                p["occurred_at"] = json!("2025-03-14T09:26:53Z")
            }),
        ];
        assert!(validator.is_valid(&valid));
        for (what, breaks) in broken {
            let mut payload = valid.clone();
            breaks(&mut payload);
            assert!(!validator.is_valid(&payload), "accepted {what}");
        }
    }

    #[test]
    fn the_schemas_null_rules_match_the_applicability_table() {
        let schema = schema();
        let rules = schema["allOf"].as_array().unwrap();
        assert_eq!(rules.len(), EventType::ALL.len());
        for rule in rules {
            let event_type: EventType =
                serde_json::from_value(rule["if"]["properties"]["event_type"]["const"].clone())
                    .unwrap();
            let mut nulls: Vec<String> = Vec::new();
            for (group, spec) in rule["then"]["properties"].as_object().unwrap() {
                for key in spec["properties"].as_object().unwrap().keys() {
                    nulls.push(format!("{group}.{key}"));
                }
            }
            nulls.sort_unstable();
            let mut expected: Vec<String> = ScopedField::ALL
                .into_iter()
                .filter(|field| !field.applies(event_type))
                .map(|field| {
                    let (group, key) = field.v2_path();
                    format!("{group}.{key}")
                })
                .collect();
            expected.sort_unstable();
            assert_eq!(nulls, expected, "{event_type}");
        }
    }

    #[test]
    fn a_stray_value_in_a_field_not_applicable_is_sent_as_null() {
        let mut event = synthetic(EventType::Delivered, "partner_1", now());
        event.delivery_otp = Some(Otp::new("4821"));
        let payload: Value = serde_json::from_slice(&render(&event, SchemaVersion::V2)).unwrap();
        assert_eq!(payload["delivery"]["otp"], Value::Null);
        assert!(validator().is_valid(&payload));
    }
}
