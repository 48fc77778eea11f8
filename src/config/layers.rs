//! The untyped phase of loading: parse TOML layers, check their keys against
//! the built-in defaults, deep-merge them and remember where each value came
//! from.
//!
//! The built-in `config.toml` doubles as the schema. It lists every key, so a
//! key it lacks is unknown, and the one place that documents the keys is also
//! the one that defines them. The typed structs still `deny_unknown_fields`,
//! which keeps the two in step (a key in `config.toml` but not in the structs
//! fails the defaults test).

use std::collections::BTreeMap;
use std::path::Path;

use toml::{Table, Value};

use super::ConfigError;

/// Tables whose keys are data rather than schema: any key may appear under
/// them, and each value is a string.
pub(crate) const OPEN_MAPS: [&str; 2] = ["kafka.properties", "cdc.status_map"];

/// Parses one TOML document, naming `path` in a syntax error.
pub(crate) fn parse_document(text: &str, path: &Path) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|err| ConfigError::Parse {
        path: path.to_owned(),
        message: err.to_string().trim_end().to_owned(),
    })
}

/// Joins a parent key and a child key into a dotted key.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Rejects any key in `overlay` that `schema` (the defaults) does not have,
/// naming the full key, where it was set, and the keys that are accepted.
pub(crate) fn check_known_keys(
    schema: &Table,
    overlay: &Table,
    prefix: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    for (key, value) in overlay {
        let full = join(prefix, key);
        match schema.get(key) {
            None => {
                let accepted: Vec<&str> = schema.keys().map(String::as_str).collect();
                let scope = if prefix.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("[{prefix}]")
                };
                return Err(ConfigError::invalid(
                    full,
                    format!(
                        "unknown key ({origin}); {scope} accepts: {}",
                        accepted.join(", ")
                    ),
                ));
            }
            Some(Value::Table(inner)) if !OPEN_MAPS.contains(&full.as_str()) => {
                // A non-table here is a type error, reported with the key
                // during deserialization.
                if let Value::Table(given) = value {
                    check_known_keys(inner, given, &full, origin)?;
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Where each overridden value came from, keyed by dotted key, so an error
/// about a value says which file or variable to change. Values left at their
/// defaults have no entry.
#[derive(Debug, Default)]
pub(crate) struct Origins(BTreeMap<String, String>);

impl Origins {
    /// The origin of `key`, or of the closest enclosing key that has one:
    /// errors may point inside a value (`delivery.retry_schedule[1]`).
    pub(crate) fn of(&self, key: &str) -> Option<&str> {
        let mut key = key;
        loop {
            if let Some(origin) = self.0.get(key) {
                return Some(origin);
            }
            key = &key[..key.rfind(['.', '['])?];
        }
    }
}

/// Deep-merges `overlay` into `base`: tables merge key by key, anything else
/// (arrays included) replaces the base value. Records `origin` for every
/// value the overlay sets.
pub(crate) fn merge(
    base: &mut Table,
    overlay: Table,
    prefix: &str,
    origin: &str,
    origins: &mut Origins,
) {
    for (key, value) in overlay {
        let full = join(prefix, &key);
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_inner)), Value::Table(inner)) => {
                merge(base_inner, inner, &full, origin, origins);
            }
            (_, value) => {
                record(&value, &full, origin, origins);
                base.insert(key, value);
            }
        }
    }
}

/// Records `origin` for `value` and, when it is a table, for each leaf in it.
fn record(value: &Value, key: &str, origin: &str, origins: &mut Origins) {
    if let Value::Table(table) = value {
        for (child, inner) in table {
            record(inner, &join(key, child), origin, origins);
        }
    }
    origins.0.insert(key.to_owned(), origin.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().expect("test TOML")
    }

    #[test]
    fn merge_combines_tables_and_replaces_everything_else() {
        let mut base = table("[a]\nx = 1\ny = [1, 2]\n[a.m]\nk = \"v\"");
        let mut origins = Origins::default();
        merge(
            &mut base,
            table("[a]\ny = [3]\n[a.m]\nj = \"w\""),
            "",
            "set in f.toml",
            &mut origins,
        );
        assert_eq!(
            base,
            table("[a]\nx = 1\ny = [3]\n[a.m]\nk = \"v\"\nj = \"w\"")
        );
        assert_eq!(origins.of("a.y"), Some("set in f.toml"));
        assert_eq!(origins.of("a.y[0]"), Some("set in f.toml"));
        assert_eq!(origins.of("a.m.j"), Some("set in f.toml"));
        assert_eq!(origins.of("a.x"), None);
        assert_eq!(origins.of("a.m.k"), None);
    }

    #[test]
    fn unknown_keys_are_named_with_what_is_accepted() {
        let schema = table("[database]\nurl = \"\"\npool_size = 1\n[kafka.properties]");
        let known = table("[kafka.properties]\n\"any.thing\" = \"1\"");
        assert!(check_known_keys(&schema, &known, "", "set in f.toml").is_ok());

        let err = check_known_keys(&schema, &table("[database]\npool = 3"), "", "set in f.toml")
            .expect_err("unknown key");
        assert_eq!(
            err.to_string(),
            "database.pool: unknown key (set in f.toml); [database] accepts: pool_size, url"
        );
    }
}
