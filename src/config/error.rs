//! The one error type of configuration loading.

use std::path::PathBuf;

/// Why the configuration could not be loaded. Every variant names the file,
/// key or environment variable to fix, because a service that refuses to
/// start must say where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read: the config file given at startup (including
    /// one that does not exist) or the file named by `kafka.brokers_file`.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A config file is not valid TOML.
    #[error("{} is not valid TOML: {message}", path.display())]
    Parse {
        /// The file with the syntax error.
        path: PathBuf,
        /// The parser's message, which names the line and column.
        message: String,
    },

    /// A key has a value of the wrong type, an out-of-range value, or is not a
    /// known key.
    #[error("{key}: {message}")]
    Invalid {
        /// Dotted key such as `delivery.attempt_timeout`, or the environment
        /// variable when the key could not be worked out.
        key: String,
        /// What is wrong and what is accepted, plus where the value came from
        /// when it was not a built-in default.
        message: String,
    },

    /// A `TRACKWIRE_` environment variable names no configuration key. Unknown
    /// variables are errors so that a typo cannot silently leave a default in
    /// place.
    #[error(
        "environment variable {var} names no configuration key; variables are \
         TRACKWIRE_<SECTION>__<KEY> with a double underscore between levels \
         (e.g. TRACKWIRE_DATABASE__URL), and config.toml lists every key"
    )]
    UnknownEnv {
        /// The variable's name.
        var: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}
