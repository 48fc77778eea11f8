//! Environment overrides: `TRACKWIRE_<SECTION>__<KEY>=value`.
//!
//! Levels are separated by a double underscore and lowercased, because key
//! names themselves contain single underscores (`TRACKWIRE_DELIVERY__MAX_AGE`
//! is `delivery.max_age`). Entries of the open maps are the exception: under
//! `kafka.properties` the entry name is lowercased and `_` becomes `.`
//! (librdkafka names are dotted, and dots cannot appear in variable names);
//! under `cdc.status_map` it is kept as written, because OMS statuses are
//! case-sensitive values, not key names.

use toml::{Table, Value};

use super::layers::{join, OPEN_MAPS};
use super::{ConfigError, CONFIG_FILE_ENV};

/// Prefix of every variable the loader reads.
pub(crate) const PREFIX: &str = "TRACKWIRE_";

/// Variables with [`PREFIX`] that are not configuration keys.
const IGNORED: [&str; 1] = [CONFIG_FILE_ENV];

/// One variable turned into a TOML overlay.
#[derive(Debug)]
pub(crate) struct Override {
    /// The variable's name, reported as the value's origin.
    pub(crate) var: String,
    /// A table holding just the value at its key, ready to deep-merge.
    pub(crate) overlay: Table,
}

/// Turns the `TRACKWIRE_` variables among `vars` into overlays, in name order
/// so that the result does not depend on the order the environment lists them.
/// `schema` is the built-in defaults; a variable naming no key in it is
/// [`ConfigError::UnknownEnv`].
pub(crate) fn overrides(
    schema: &Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<Override>, ConfigError> {
    let mut ours: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX) && !IGNORED.contains(&name.as_str()))
        .collect();
    ours.sort();
    ours.into_iter()
        .map(|(var, raw)| {
            let Some((path, default)) = resolve(schema, &var) else {
                return Err(ConfigError::UnknownEnv { var });
            };
            let Some((leaf, parents)) = path.split_last() else {
                return Err(ConfigError::UnknownEnv { var });
            };
            let mut overlay = Table::from_iter([(leaf.clone(), typed_value(&raw, default))]);
            for segment in parents.iter().rev() {
                overlay = Table::from_iter([(segment.clone(), Value::Table(overlay))]);
            }
            Ok(Override { var, overlay })
        })
        .collect()
}

/// The key path a variable names and the default value found there (`None`
/// for a new entry of an open map, whose values are strings).
fn resolve<'s>(schema: &'s Table, var: &str) -> Option<(Vec<String>, Option<&'s Value>)> {
    let rest = var.strip_prefix(PREFIX)?;
    let segments: Vec<&str> = rest.split("__").collect();
    let mut path = Vec::with_capacity(segments.len());
    let mut table = schema;
    let mut dotted = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        if OPEN_MAPS.contains(&dotted.as_str()) {
            // An entry name: only valid as the last level.
            if !is_last || segment.is_empty() {
                return None;
            }
            let key = if dotted == "kafka.properties" {
                segment.to_lowercase().replace('_', ".")
            } else {
                (*segment).to_owned()
            };
            let default = table.get(&key);
            path.push(key);
            return Some((path, default));
        }
        let key = segment.to_lowercase();
        let value = table.get(&key)?;
        dotted = join(&dotted, &key);
        path.push(key);
        match value {
            // A whole section is not a key, but a whole open map is.
            Value::Table(_) if is_last && !OPEN_MAPS.contains(&dotted.as_str()) => return None,
            _ if is_last => return Some((path, Some(value))),
            Value::Table(inner) => table = inner,
            _ => return None,
        }
    }
    None
}

/// Reads a variable's value as TOML when that yields the kind of value the
/// key holds by default (integer, float, boolean, array, table), else as the
/// raw string. Checking the kind keeps `TRACKWIRE_KAFKA__GROUP_ID=42` a string
/// and lets a duration or list fall through to its own string forms
/// (`"30s"`, `"100ms,200ms"`), while a TOML-quoted string is unquoted.
fn typed_value(raw: &str, default: Option<&Value>) -> Value {
    let raw_string = || Value::String(raw.to_owned());
    let Some(default) = default else {
        return raw_string();
    };
    match parse_value(raw) {
        Some(parsed) if same_kind(&parsed, default) => parsed,
        _ => raw_string(),
    }
}

/// Parses `raw` as a single TOML value, or `None` if it is not one.
fn parse_value(raw: &str) -> Option<Value> {
    let mut table: Table = format!("value = {raw}").parse().ok()?;
    // A value with a newline could smuggle in more keys; then it is not one
    // TOML value.
    if table.len() != 1 {
        return None;
    }
    table.remove("value")
}

/// Whether `parsed` can stand where the default `default` stands. An integer
/// may replace a float (`TRACKWIRE_DELIVERY__JITTER=0`).
fn same_kind(parsed: &Value, default: &Value) -> bool {
    matches!(
        (parsed, default),
        (Value::Integer(_), Value::Float(_) | Value::Integer(_))
            | (Value::Float(_), Value::Float(_))
            | (Value::String(_), Value::String(_))
            | (Value::Boolean(_), Value::Boolean(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Table(_), Value::Table(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Table {
        concat!(
            "[database]\nurl = \"postgres://x\"\npool_size = 16\n",
            "[delivery]\njitter = 0.2\nretry_schedule = [\"30s\"]\n",
            "[kafka]\ngroup_id = \"g\"\n[kafka.properties]\n",
            "[cdc.status_map]\nCONFIRMED = \"order_confirmed\"\n",
        )
        .parse()
        .expect("schema")
    }

    fn one(name: &str, value: &str) -> Result<Table, ConfigError> {
        let mut all = overrides(&schema(), [(name.to_owned(), value.to_owned())])?;
        Ok(all.remove(0).overlay)
    }

    fn at<'t>(table: &'t Table, path: &[&str]) -> Option<&'t Value> {
        let (last, parents) = path.split_last()?;
        let mut table = table;
        for key in parents {
            table = table.get(*key)?.as_table()?;
        }
        table.get(*last)
    }

    #[test]
    fn values_take_the_kind_of_their_default() {
        let t = one("TRACKWIRE_DATABASE__POOL_SIZE", "4").expect("known");
        assert_eq!(at(&t, &["database", "pool_size"]), Some(&Value::Integer(4)));
        let t = one("TRACKWIRE_DELIVERY__JITTER", "0").expect("known");
        assert_eq!(at(&t, &["delivery", "jitter"]), Some(&Value::Integer(0)));
        let t = one("TRACKWIRE_KAFKA__GROUP_ID", "42").expect("known");
        assert_eq!(at(&t, &["kafka", "group_id"]), Some(&Value::from("42")));
        let t = one("TRACKWIRE_KAFKA__GROUP_ID", "\"quoted\"").expect("known");
        assert_eq!(at(&t, &["kafka", "group_id"]), Some(&Value::from("quoted")));
        let t = one("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "1s,2s").expect("known");
        let expected = Value::from("1s,2s");
        assert_eq!(at(&t, &["delivery", "retry_schedule"]), Some(&expected));
        let t = one("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "[\"1s\", 2]").expect("known");
        let expected = Value::Array(vec!["1s".into(), 2.into()]);
        assert_eq!(at(&t, &["delivery", "retry_schedule"]), Some(&expected));
    }

    #[test]
    fn a_value_with_extra_lines_stays_a_string() {
        let t = one("TRACKWIRE_DATABASE__POOL_SIZE", "4\nother = 1").expect("known");
        let expected = Value::from("4\nother = 1");
        assert_eq!(at(&t, &["database", "pool_size"]), Some(&expected));
    }

    #[test]
    fn open_map_entries_keep_their_own_spelling() {
        let t = one("TRACKWIRE_KAFKA__PROPERTIES__FETCH_WAIT_MAX_MS", "10").expect("known");
        let expected = Value::from("10");
        assert_eq!(
            at(&t, &["kafka", "properties", "fetch.wait.max.ms"]),
            Some(&expected)
        );
        let t = one("TRACKWIRE_CDC__STATUS_MAP__PICKED_UP", "return_picked_up").expect("known");
        let expected = Value::from("return_picked_up");
        assert_eq!(at(&t, &["cdc", "status_map", "PICKED_UP"]), Some(&expected));
    }

    #[test]
    fn names_that_miss_a_key_are_unknown() {
        for name in [
            "TRACKWIRE_DATABASE_URL",
            "TRACKWIRE_DATABASE__URLS",
            "TRACKWIRE_DATABASE",
            "TRACKWIRE_DATABASE__URL__X",
            "TRACKWIRE_",
            "TRACKWIRE_KAFKA__PROPERTIES__A__B",
            "TRACKWIRE_KAFKA__PROPERTIES__",
        ] {
            match one(name, "1") {
                Err(ConfigError::UnknownEnv { var }) => assert_eq!(var, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn other_variables_are_ignored() {
        let vars = [
            ("PATH".to_owned(), "/bin".to_owned()),
            ("TRACKWIRE_CONFIG".to_owned(), "x.toml".to_owned()),
            ("trackwire_database__url".to_owned(), "x".to_owned()),
        ];
        assert!(overrides(&schema(), vars).expect("no error").is_empty());
    }
}
