//! Value forms shared by every payload version. A change here changes every
//! published version, which the golden files catch.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use super::TimeWindow;

/// A timestamp on the wire: RFC 3339, UTC, milliseconds, `Z`
/// (`2025-03-14T09:26:53.589Z`). One fixed form, so partners can parse it with a pattern.
pub(super) struct Timestamp(pub(super) DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// An estimated delivery window on the wire: `{"start": .., "end": ..}`.
#[derive(Serialize)]
pub(super) struct Window {
    start: Timestamp,
    end: Timestamp,
}

impl From<TimeWindow> for Window {
    fn from(window: TimeWindow) -> Self {
        Window {
            start: Timestamp(window.start),
            end: Timestamp(window.end),
        }
    }
}
