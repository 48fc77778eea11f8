//! Payload schema versions. Each endpoint is pinned to one; a version keeps being served
//! for 12 months after its successor ships.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A version of the partner-facing payload contract.
///
/// Adding a version means: a new variant here, a `schema/vN.rs` renderer, a
/// `schemas/vN.json` file, and the match arms the compiler then asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaVersion {
    /// The unified payload: every key present, `null` where it does not apply.
    /// Deprecated since v2; see [`super::Lifecycle`].
    V1,
    /// The fields nested by concern, with a per-order sequence and a tracking URL.
    V2,
}

impl SchemaVersion {
    /// Every version still served, oldest first.
    pub const ALL: &'static [SchemaVersion] = &[SchemaVersion::V1, SchemaVersion::V2];

    /// The newest served version: what a new endpoint gets unless it asks for
    /// another. Derived from [`Self::ALL`], so adding a version moves it.
    pub const LATEST: SchemaVersion = Self::ALL[Self::ALL.len() - 1];

    /// The wire name, e.g. `"v1"`: the payload's `schema_version` and the
    /// `webhook-schema-version` header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SchemaVersion::V1 => "v1",
            SchemaVersion::V2 => "v2",
        }
    }
}

/// The version of a new endpoint that names none: the newest. The API, the
/// portal, the CLI and the store all take it from here.
impl Default for SchemaVersion {
    fn default() -> Self {
        SchemaVersion::LATEST
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no served schema version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown schema version `{0}`: expected one of {names}", names = served_names())]
pub struct UnknownSchemaVersion(pub String);

/// The served versions' names, for messages: `v1, v2`.
pub fn served_names() -> String {
    let names: Vec<&str> = SchemaVersion::ALL.iter().map(|v| v.as_str()).collect();
    names.join(", ")
}

impl FromStr for SchemaVersion {
    type Err = UnknownSchemaVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchemaVersion::ALL
            .iter()
            .copied()
            .find(|version| version.as_str() == s)
            .ok_or_else(|| UnknownSchemaVersion(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_round_trips_through_its_name_and_serde() {
        for &version in SchemaVersion::ALL {
            assert_eq!(version.as_str().parse(), Ok(version));
            assert_eq!(version.to_string(), version.as_str());
            let json = serde_json::to_string(&version).unwrap();
            assert_eq!(json, format!("\"{}\"", version.as_str()));
        }
    }

    #[test]
    fn a_new_endpoint_gets_the_newest_served_version() {
        assert_eq!(SchemaVersion::default(), SchemaVersion::LATEST);
        assert!(SchemaVersion::ALL
            .iter()
            .all(|&v| v <= SchemaVersion::LATEST));
        assert!(
            SchemaVersion::ALL.windows(2).all(|w| w[0] < w[1]),
            "oldest first"
        );
    }

    #[test]
    fn an_unknown_version_is_rejected_with_the_valid_names_listed() {
        let err = "V1".parse::<SchemaVersion>().unwrap_err();
        assert_eq!(err, UnknownSchemaVersion("V1".into()));
        for version in SchemaVersion::ALL {
            assert!(err.to_string().contains(version.as_str()));
        }
    }
}
