//! Golden files: for every version and event type, the exact bytes a fixed event
//! renders to, checked in under `tests/golden/<version>/<event_type>.json`.
//!
//! A published version never changes shape, so these files are never rewritten: a
//! test fails on any difference. A missing file (a new version or event type) is
//! written when `TRACKWIRE_WRITE_MISSING_GOLDEN=1` is set, and then reviewed and
//! committed like any other contract change.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{mask_phone, render, EventData, EventType, Otp, SchemaVersion, TimeWindow};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a valid fixture timestamp")
}

/// The fixed input: one realistic event of `event_type`, every applicable field set.
fn fixture(event_type: EventType) -> EventData {
    let mut event = EventData {
        event_id: format!("evt_golden_{}", event_type.as_str()),
        event_type,
        occurred_at: at("2025-03-14T09:26:53.589Z"),
        sequence: 3,
        tracking_url: Some("https://track.example.com/ORD-1042".into()),
        is_test: false,
        partner_id: "acme".into(),
        order_id: "ORD-1042".into(),
        merchant_order_ref: Some("SHOP-77".into()),
        customer_id: None,
        status: event_type.as_str().to_uppercase(),
        previous_status: Some("PACKED".into()),
        rider_name: Some("Ravi Kumar".into()),
        rider_phone_masked: Some(mask_phone("+91 98765 43210")),
        delivery_otp: Some(Otp::new("4821")),
        estimated_delivery_window: Some(TimeWindow {
            start: at("2025-03-14T10:00:00Z"),
            end: at("2025-03-14T10:30:00.250Z"),
        }),
        delivery_timestamp: Some(at("2025-03-14T10:12:09.004Z")),
        delivery_address_confirmed: Some(true),
        failure_reason_code: Some("CUSTOMER_UNAVAILABLE".into()),
        failure_reason: Some("Customer \"not\" reachable".into()),
        attempt_number: Some(2),
        return_id: Some("RET-9".into()),
        return_reason_code: Some("SIZE_ISSUE".into()),
        return_reason: Some("Does not fit".into()),
        return_condition_flags: Some(vec!["unopened".into(), "tags_attached".into()]),
        pickup_timestamp: Some(at("2025-03-15T08:00:00Z")),
        customer_phone: Default::default(),
    };
    event.clear_fields_not_applicable();
    event
}

fn golden_path(version: SchemaVersion, event_type: EventType) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(version.as_str())
        .join(format!("{}.json", event_type.as_str()))
}

#[test]
fn every_version_and_event_type_renders_its_golden_file_byte_for_byte() {
    let write_missing = std::env::var("TRACKWIRE_WRITE_MISSING_GOLDEN").as_deref() == Ok("1");
    let mut problems = Vec::new();
    for &version in SchemaVersion::ALL {
        for event_type in EventType::ALL {
            let path = golden_path(version, event_type);
            // One line plus a newline, so the files diff and display well.
            let mut rendered = render(&fixture(event_type), version);
            rendered.push(b'\n');
            match std::fs::read(&path) {
                Ok(golden) if golden == rendered => {}
                Ok(golden) => problems.push(format!(
                    "{} changed:\n  golden:   {}  rendered: {}",
                    path.display(),
                    String::from_utf8_lossy(&golden),
                    String::from_utf8_lossy(&rendered)
                )),
                Err(_) if write_missing => {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, &rendered).unwrap();
                }
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a published payload version changed shape or lost its golden file; \
         add a new version instead:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_golden_files_validate_against_their_schemas() {
    for &version in SchemaVersion::ALL {
        let schema: serde_json::Value = serde_json::from_str(super::json_schema(version)).unwrap();
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        for event_type in EventType::ALL {
            let path = golden_path(version, event_type);
            let Ok(text) = std::fs::read(&path) else {
                continue; // reported by the test above
            };
            let payload: serde_json::Value = serde_json::from_slice(&text).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&payload)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        }
    }
}
