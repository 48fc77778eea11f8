//! Schema v1: one unified payload for every event type. Every key is always present, in
//! the contract's order; a key that does not apply to the event type is `null`.
//! Validated by `schemas/v1.json`.

use serde::Serialize;

use super::wire::{Timestamp, Window};
use super::{EventData, EventType, SchemaVersion};

/// The v1 payload, borrowing from an [`EventData`]. Field order is the wire key order.
///
/// There is deliberately no `skip_serializing_if` anywhere: partners rely on every key
/// being present. There is no `Debug` either, because the payload holds the OTP in clear.
#[derive(Serialize)]
pub struct PayloadV1<'a> {
    schema_version: SchemaVersion,
    event_id: &'a str,
    event_type: EventType,
    occurred_at: Timestamp,
    is_test: bool,
    partner_id: &'a str,
    order_id: &'a str,
    merchant_order_ref: Option<&'a str>,
    customer_id: Option<&'a str>,
    status: &'a str,
    previous_status: Option<&'a str>,
    rider_name: Option<&'a str>,
    rider_phone_masked: Option<&'a str>,
    delivery_otp: Option<&'a str>,
    estimated_delivery_window: Option<Window>,
    delivery_timestamp: Option<Timestamp>,
    delivery_address_confirmed: Option<bool>,
    failure_reason_code: Option<&'a str>,
    failure_reason: Option<&'a str>,
    attempt_number: Option<i64>,
    return_id: Option<&'a str>,
    return_reason_code: Option<&'a str>,
    return_reason: Option<&'a str>,
    return_condition_flags: Option<&'a [String]>,
    pickup_timestamp: Option<Timestamp>,
}

impl<'a> PayloadV1<'a> {
    /// The payload for `data`, which must already hold only fields that apply to its type
    /// (see `EventData::as_contract`): this is a field-by-field copy, not a filter.
    pub(crate) fn new(data: &'a EventData) -> Self {
        PayloadV1 {
            schema_version: SchemaVersion::V1,
            event_id: &data.event_id,
            event_type: data.event_type,
            occurred_at: Timestamp(data.occurred_at),
            is_test: data.is_test,
            partner_id: &data.partner_id,
            order_id: &data.order_id,
            merchant_order_ref: data.merchant_order_ref.as_deref(),
            customer_id: data.customer_id.as_deref(),
            status: &data.status,
            previous_status: data.previous_status.as_deref(),
            rider_name: data.rider_name.as_deref(),
            rider_phone_masked: data.rider_phone_masked.as_deref(),
            delivery_otp: data.delivery_otp.as_ref().map(|otp| otp.expose()),
            estimated_delivery_window: data.estimated_delivery_window.map(Window::from),
            delivery_timestamp: data.delivery_timestamp.map(Timestamp),
            delivery_address_confirmed: data.delivery_address_confirmed,
            failure_reason_code: data.failure_reason_code.as_deref(),
            failure_reason: data.failure_reason.as_deref(),
            attempt_number: data.attempt_number,
            return_id: data.return_id.as_deref(),
            return_reason_code: data.return_reason_code.as_deref(),
            return_reason: data.return_reason.as_deref(),
            return_condition_flags: data.return_condition_flags.as_deref(),
            pickup_timestamp: data.pickup_timestamp.map(Timestamp),
        }
    }
}

/// Compact JSON of the v1 payload for `data` (already cleared, see [`PayloadV1::new`]).
pub(crate) fn render(data: &EventData) -> Vec<u8> {
    // Serializing this struct cannot fail: it has only string keys, and strings, numbers,
    // booleans and nulls as values, none of them behind a fallible `Serialize`.
    serde_json::to_vec(&PayloadV1::new(data)).expect("a v1 payload always serializes")
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use chrono::{DateTime, Utc};

    use crate::schema::{render, synthetic, Otp, ScopedField, TimeWindow};

    use super::*;
    use crate::schema::test_support as support;

    /// The contract's keys, in the contract's order (DESIGN.md, "Event contract").
    const KEYS: [&str; 25] = [
        "schema_version",
        "event_id",
        "event_type",
        "occurred_at",
        "is_test",
        "partner_id",
        "order_id",
        "merchant_order_ref",
        "customer_id",
        "status",
        "previous_status",
        "rider_name",
        "rider_phone_masked",
        "delivery_otp",
        "estimated_delivery_window",
        "delivery_timestamp",
        "delivery_address_confirmed",
        "failure_reason_code",
        "failure_reason",
        "attempt_number",
        "return_id",
        "return_reason_code",
        "return_reason",
        "return_condition_flags",
        "pickup_timestamp",
    ];

    fn now() -> DateTime<Utc> {
        support::now()
    }

    fn schema() -> Value {
        support::schema(SchemaVersion::V1)
    }

    fn validator() -> jsonschema::Validator {
        support::validator(SchemaVersion::V1)
    }

    fn rendered(event_type: EventType) -> Value {
        support::rendered(event_type, SchemaVersion::V1)
    }

    use support::errors;

    #[test]
    fn the_schema_lists_exactly_the_contract_keys_all_required() {
        let schema = schema();
        let properties: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(properties, expected); // serde_json's map is sorted
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key.as_str().unwrap())
            .collect();
        assert_eq!(required, KEYS);
        assert_eq!(schema["additionalProperties"], json!(false));
    }

    #[test]
    fn every_event_type_renders_exactly_the_contract_keys_in_order() {
        for event_type in EventType::ALL {
            let event = synthetic(event_type, "partner_1", now());
            let body = String::from_utf8(render(&event, SchemaVersion::V1)).unwrap();
            let payload: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(payload.as_object().unwrap().len(), KEYS.len(), "{body}");
            // The key order is part of the contract; a parsed map would hide it, so look at
            // where each key sits in the text. Escaped quotes in values cannot match.
            let positions: Vec<usize> = KEYS
                .iter()
                .map(|key| body.find(&format!("\"{key}\":")).unwrap())
                .collect();
            assert!(positions.is_sorted(), "{event_type}: {body}");
            assert!(body.starts_with("{\"schema_version\":\"v1\","), "{body}");
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
                let value = &payload[field.name()];
                assert_eq!(
                    value.is_null(),
                    !field.applies(event_type),
                    "{} for {event_type}: {value}",
                    field.name()
                );
            }
        }
    }

    #[test]
    fn a_stray_value_in_a_field_not_applicable_is_sent_as_null() {
        let mut event = synthetic(EventType::OrderConfirmed, "partner_1", now());
        event.delivery_otp = Some(Otp::new("4821"));
        event.attempt_number = Some(3);
        let body = render(&event, SchemaVersion::V1);
        let payload: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(payload["delivery_otp"], Value::Null);
        assert_eq!(payload["attempt_number"], Value::Null);
        assert!(validator().is_valid(&payload));
    }

    #[test]
    fn render_is_deterministic() {
        for event_type in EventType::ALL {
            let event = synthetic(event_type, "partner_1", now());
            let first = render(&event, SchemaVersion::V1);
            assert_eq!(render(&event, SchemaVersion::V1), first);
            assert_eq!(render(&event.clone(), SchemaVersion::V1), first);
            // Storing and reloading the event (jsonb) does not change the bytes either.
            let reloaded: EventData =
                serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
            assert_eq!(render(&reloaded, SchemaVersion::V1), first);
        }
    }

    #[test]
    fn a_known_event_renders_to_known_bytes() {
        let mut event = synthetic(EventType::Delivered, "partner_1", now());
        event.event_id = "evt_01".into();
        event.order_id = "ord_01".into();
        event.merchant_order_ref = Some("SHOP-1042".into());
        event.customer_id = None;
        event.delivery_timestamp = Some("2025-03-14T09:26:50Z".parse().unwrap());
        event.attempt_number = Some(2);
        let expected = concat!(
            r#"{"schema_version":"v1","event_id":"evt_01","event_type":"delivered","#,
            r#""occurred_at":"2025-03-14T09:26:53.589Z","is_test":true,"#,
            r#""partner_id":"partner_1","order_id":"ord_01","merchant_order_ref":"SHOP-1042","#,
            r#""customer_id":null,"status":"delivered","previous_status":"out_for_delivery","#,
            r#""rider_name":null,"rider_phone_masked":null,"delivery_otp":null,"#,
            r#""estimated_delivery_window":null,"delivery_timestamp":"2025-03-14T09:26:50.000Z","#,
            r#""delivery_address_confirmed":true,"failure_reason_code":null,"#,
            r#""failure_reason":null,"attempt_number":2,"return_id":null,"#,
            r#""return_reason_code":null,"return_reason":null,"#,
            r#""return_condition_flags":null,"pickup_timestamp":null}"#,
        );
        assert_eq!(
            String::from_utf8(render(&event, SchemaVersion::V1)).unwrap(),
            expected
        );
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds_and_z() {
        let at: DateTime<Utc> = "2025-03-14T09:26:53.589123456+05:30".parse().unwrap();
        let mut event = synthetic(EventType::OutForDelivery, "partner_1", at);
        event.estimated_delivery_window = Some(TimeWindow {
            start: "2025-03-14T04:30:00Z".parse().unwrap(),
            end: "2025-03-14T05:00:00.5Z".parse().unwrap(),
        });
        let payload: Value = serde_json::from_slice(&render(&event, SchemaVersion::V1)).unwrap();
        assert_eq!(payload["occurred_at"], "2025-03-14T03:56:53.589Z");
        assert_eq!(
            payload["estimated_delivery_window"],
            json!({"start": "2025-03-14T04:30:00.000Z", "end": "2025-03-14T05:00:00.500Z"})
        );
    }

    #[test]
    fn the_schema_rejects_payloads_that_break_the_contract() {
        let validator = validator();
        let valid = rendered(EventType::OutForDelivery);
        // Each case: what is wrong, and how to break a valid payload that way.
        type Breakage = (&'static str, fn(&mut Value));
        let broken: [Breakage; 9] = [
            ("a missing key", |p| {
                p.as_object_mut().unwrap().remove("customer_id");
            }),
            ("an extra key", |p| p["extra"] = json!(1)),
            ("another schema version", |p| {
                p["schema_version"] = json!("v2")
            }),
            ("an unknown event type", |p| p["event_type"] = json!("lost")),
            ("an empty event id", |p| p["event_id"] = json!("")),
            ("a timestamp without milliseconds", |p| {
                p["occurred_at"] = json!("2025-03-14T09:26:53Z")
            }),
            ("an impossible date", |p| {
                p["occurred_at"] = json!("2025-13-45T09:26:53.589Z")
            }),
            ("a field that does not apply", |p| {
                p["attempt_number"] = json!(1)
            }),
            ("an incomplete window", |p| {
                p["estimated_delivery_window"] = json!({"start": "2025-03-14T09:26:53.589Z"})
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
            let mut nulls: Vec<&str> = rule["then"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            nulls.sort_unstable();
            let mut expected: Vec<&str> = ScopedField::ALL
                .into_iter()
                .filter(|field| !field.applies(event_type))
                .map(ScopedField::name)
                .collect();
            expected.sort_unstable();
            assert_eq!(nulls, expected, "{event_type}");
        }
    }
}
