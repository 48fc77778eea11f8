//! The event contract: what an event holds, and the exact bytes partners receive.
//!
//! An event is stored once as an [`EventData`] (version-independent, jsonb in PostgreSQL)
//! and rendered per endpoint with [`render`] in the [`SchemaVersion`] that endpoint is
//! pinned to. Each version has a renderer module (`v1`, `v2`) and a JSON Schema file
//! (`schemas/vN.json`, see [`json_schema`]) that every rendered payload validates against.
//!
//! # Layout
//! - `event_type`: the six event types.
//! - `version`: schema versions.
//! - `event`: [`EventData`] and the OTP wrapper that keeps OTPs out of logs.
//! - `scope`: which optional field applies to which event type, in one table.
//! - `mask`: phone masking.
//! - `synthetic`: test events for the portal and the demo.
//! - `wire`: value forms shared by the versions (timestamps, windows).
//! - `v1`, `v2`: the payloads.
//! - `lifecycle`: when a version is deprecated and sunset (the HTTP headers).
//! - `tracking`: the tracking URL template.

mod event;
mod event_type;
#[cfg(test)]
mod golden;
mod lifecycle;
mod mask;
mod scope;
mod synthetic;
#[cfg(test)]
mod test_support;
mod tracking;
pub mod v1;
pub mod v2;
mod version;
mod wire;

pub use event::{EventData, Otp, TimeWindow};
pub use event_type::{EventType, UnknownEventType};
pub use lifecycle::{Deprecation, Lifecycle};
pub use mask::mask_phone;
pub use scope::ScopedField;
pub use synthetic::{synthetic, LiveShape};
pub use tracking::{InvalidTrackingUrlTemplate, TrackingUrlTemplate};
pub use version::{SchemaVersion, UnknownSchemaVersion};

/// The exact body bytes sent to partners for `data` in `version`: compact JSON, the
/// same bytes for the same input (the signature is computed over them).
///
/// Fields that do not apply to the event type are sent as `null` even if `data` holds a
/// value for them, so a stray value can never break the contract.
pub fn render(data: &EventData, version: SchemaVersion) -> Vec<u8> {
    let data = data.as_contract();
    match version {
        SchemaVersion::V1 => v1::render(&data),
        SchemaVersion::V2 => v2::render(&data),
    }
}

/// What the event log shows of an OTP.
pub const HIDDEN_OTP: &str = "•••• (hidden)";

/// The payload `data` was sent as in `version`, with the OTP replaced by
/// [`HIDDEN_OTP`]: the event log shows partners what their endpoint
/// received, but a page or an API answer is not where an OTP belongs.
pub fn render_for_log(data: &EventData, version: SchemaVersion) -> Vec<u8> {
    let mut shown = data.clone();
    if shown.delivery_otp.is_some() {
        shown.delivery_otp = Some(Otp::new(HIDDEN_OTP));
    }
    render(&shown, version)
}

/// The JSON Schema (draft 2020-12) of `version`'s payload, as published to partners.
pub fn json_schema(version: SchemaVersion) -> &'static str {
    match version {
        SchemaVersion::V1 => include_str!("../../schemas/v1.json"),
        SchemaVersion::V2 => include_str!("../../schemas/v2.json"),
    }
}
