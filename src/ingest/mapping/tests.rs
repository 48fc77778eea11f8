//! Mapping changes to events, on the default `[cdc]` configuration.
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

fn envelope(op: &str, before: serde_json::Value, after: serde_json::Value) -> serde_json::Value {
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

#[test]
fn the_customer_phone_is_normalised_and_a_bad_one_never_blocks_the_event() {
    use crate::sms::phone::{PhoneError, PhoneOnRecord};
    let phone_of = |phone: serde_json::Value| {
        let after =
            json!({"id": 7, "partner_id": "acme", "status": "CONFIRMED", "customer_phone": phone});
        event(
            mapper()
                .map(&change(envelope("c", json!(null), after)))
                .unwrap(),
        )
        .customer_phone
    };
    let valid = phone_of(json!("098123 45678"));
    assert_eq!(valid.valid().map(|p| p.expose()), Some("+919812345678"));
    assert_eq!(phone_of(json!(9812345678i64)), valid, "numeric columns too");
    assert_eq!(
        phone_of(json!("12")),
        PhoneOnRecord::Invalid(PhoneError::Length)
    );
    assert_eq!(phone_of(json!(null)), PhoneOnRecord::Missing);
    assert_eq!(phone_of(json!({"x": 1})), PhoneOnRecord::Missing);
    // The number stays beside the event, never inside what is stored.
    let after = json!({"id": 7, "partner_id": "acme", "status": "CONFIRMED", "customer_phone": "9812345678"});
    let e = event(
        mapper()
            .map(&change(envelope("c", json!(null), after)))
            .unwrap(),
    );
    let stored = serde_json::to_string(&e).unwrap();
    assert!(!stored.contains("9812345678"), "{stored}");
}
