//! `deserialize_with` helpers for the forms TOML and environment variables
//! cannot express directly.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// An optional string where `""` means "none": TOML has no null, and the
/// built-in defaults must list every key, so absence is spelled `""`.
pub(crate) fn empty_as_none<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(deserializer)?;
    Ok(Some(value).filter(|v| !v.is_empty()))
}

/// An optional path where `""` means "none", as for [`empty_as_none`].
pub(crate) fn empty_as_no_path<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PathBuf>, D::Error> {
    Ok(empty_as_none(deserializer)?.map(PathBuf::from))
}

/// A string map whose `""` values are dropped. Layers deep-merge, so a file
/// cannot delete a default entry; mapping it to `""` is how it unmaps one.
pub(crate) fn map_without_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let mut map = BTreeMap::<String, String>::deserialize(deserializer)?;
    map.retain(|_, value| !value.is_empty());
    Ok(map)
}

/// Accepts a list of strings as an array or as one comma-separated string
/// (the environment form); items are trimmed and empty items dropped.
struct StringListVisitor;

impl<'de> Visitor<'de> for StringListVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings, as an array or a comma-separated string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<String>, E> {
        Ok(value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<String>()? {
            out.push(item);
        }
        Ok(out)
    }
}

/// `deserialize_with` for a list of strings such as
/// `delivery.allow_insecure_hosts`.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    deserializer.deserialize_any(StringListVisitor)
}

/// A socket address with an error that shows the expected form; the standard
/// one says only "invalid socket address syntax".
pub(crate) fn socket_addr<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        de::Error::custom(format!(
            "invalid address {text:?}: expected ip:port such as \"127.0.0.1:8080\" \
             or \"[::1]:8080\" (a host name is not accepted)"
        ))
    })
}
