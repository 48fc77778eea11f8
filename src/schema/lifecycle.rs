//! When a payload version stops being served, and how endpoints still pinned to it
//! are told: `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers on every request.

use chrono::{DateTime, Months, NaiveDate, Utc};

use super::SchemaVersion;

/// How long a version is still served after its successor ships.
const SERVED_AFTER_SUCCESSOR: Months = Months::new(12);

/// Release dates of the versions that replaced others, from `[schema]` in the
/// configuration. Cheap to clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    v2_released: NaiveDate,
}

/// A version's deprecation: since when, and when it is switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    /// When the successor shipped (the version is deprecated from then on).
    pub deprecated_at: DateTime<Utc>,
    /// When the version stops being served: 12 months after `deprecated_at`.
    pub sunset_at: DateTime<Utc>,
}

impl Lifecycle {
    /// The lifecycle given v2's release date.
    pub fn new(v2_released: NaiveDate) -> Self {
        Lifecycle { v2_released }
    }

    /// The deprecation of `version`, or `None` for the newest version.
    ///
    /// The headers are sent from the day the successor is configured, even before its
    /// release date: RFC 9745 allows a future deprecation date, and partners get the
    /// longest possible notice.
    pub fn deprecation(&self, version: SchemaVersion) -> Option<Deprecation> {
        let successor_released = match version {
            SchemaVersion::V1 => self.v2_released,
            SchemaVersion::V2 => return None,
        };
        let deprecated_at = successor_released.and_hms_opt(0, 0, 0)?.and_utc();
        // Only a date near the end of chrono's range has no date 12 months later; it is
        // then treated as never sunset rather than failing delivery.
        let sunset_at = successor_released
            .checked_add_months(SERVED_AFTER_SUCCESSOR)?
            .and_hms_opt(0, 0, 0)?
            .and_utc();
        Some(Deprecation {
            deprecated_at,
            sunset_at,
        })
    }
}

impl Deprecation {
    /// The `Deprecation` header value (RFC 9745): `@` and unix seconds.
    pub fn deprecation_header(&self) -> String {
        format!("@{}", self.deprecated_at.timestamp())
    }

    /// The `Sunset` header value (RFC 8594): an HTTP-date (IMF-fixdate).
    pub fn sunset_header(&self) -> String {
        self.sunset_at
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifecycle() -> Lifecycle {
        Lifecycle::new(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
    }

    #[test]
    fn v1_is_sunset_twelve_months_after_v2_ships() {
        let d = lifecycle().deprecation(SchemaVersion::V1).unwrap();
        assert_eq!(d.deprecated_at.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(d.sunset_at.to_rfc3339(), "2027-12-01T00:00:00+00:00");
    }

    #[test]
    fn the_headers_use_the_rfc_forms() {
        let d = lifecycle().deprecation(SchemaVersion::V1).unwrap();
        assert_eq!(d.deprecation_header(), "@1796083200");
        assert_eq!(d.sunset_header(), "Wed, 01 Dec 2027 00:00:00 GMT");
    }

    #[test]
    fn the_newest_version_is_not_deprecated() {
        assert_eq!(lifecycle().deprecation(SchemaVersion::LATEST), None);
    }
}
