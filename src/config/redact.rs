//! `Debug` for the sections that carry secrets, so that logging a [`Config`]
//! (which start-up does) never prints a password.
//!
//! [`Config`]: super::Config

use std::collections::BTreeMap;
use std::fmt;

use super::{DatabaseConfig, HttpConfig, KafkaConfig, SmsConfig};

/// What a masked secret prints as.
const MASK: &str = "***";

/// Fragments of librdkafka property names whose values are secrets
/// (`sasl.password`, `ssl.key.password`, `sasl.oauthbearer.client.secret`,
/// `ssl.key.pem`, `sasl.oauthbearer.config`, ...).
const SECRET_PROPERTY_PARTS: [&str; 5] = ["password", "secret", "key.pem", ".config", "token"];

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsConfig")
            .field("enabled", &self.enabled)
            .field("kannel_sendsms_url", &self.kannel_sendsms_url)
            .field("kannel_username", &self.kannel_username)
            .field("kannel_password", &MASK)
            .field("kannel_smsc_id", &self.kannel_smsc_id)
            .field("callback_base_url", &self.callback_base_url)
            .field(
                "callback_token",
                &self.callback_token.as_ref().map(|_| MASK),
            )
            .field("retry_schedule", &self.retry_schedule)
            .field("rate_per_partner", &self.rate_per_partner)
            .field("round_interval", &self.round_interval)
            .field("send_timeout", &self.send_timeout)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret_property(name) {
                    MASK
                } else {
                    value
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("brokers_file", &self.brokers_file)
            .field("group_id", &self.group_id)
            .field("cdc_topic", &self.cdc_topic)
            .field("dlq_topic", &self.dlq_topic)
            .field("session_timeout", &self.session_timeout)
            .field("batch_size", &self.batch_size)
            .field("batch_linger", &self.batch_linger)
            .field("ingest_lanes", &self.ingest_lanes)
            .field("properties", &properties)
            .finish()
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("listen", &self.listen)
            .field(
                "operator_token",
                &self.operator_token.as_ref().map(|_| MASK),
            )
            .field("portal_link_ttl", &self.portal_link_ttl)
            .field("tracking_page_base_url", &self.tracking_page_base_url)
            .finish()
    }
}

/// Whether a librdkafka property's value must not be printed.
fn is_secret_property(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PROPERTY_PARTS.iter().any(|part| name.contains(part))
}

/// A database URL with its password masked, both in the userinfo
/// (`user:***@host`) and in a `password=` query parameter. Errs on the side
/// of masking: everything up to the last `@` counts as userinfo, because
/// passwords often contain unescaped `/`, `?` or `@`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL at all; it could be anything, including a bare secret.
        return MASK.to_owned();
    };
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((userinfo, after)) => (Some(userinfo), after),
        None => (None, rest),
    };
    let (location, query) = match after.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (after, None),
    };

    let mut out = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _password)) => out.push_str(&format!("{user}:{MASK}@")),
            None => out.push_str(&format!("{userinfo}@")),
        }
    }
    out.push_str(location);
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    format!("{name}={MASK}")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_wherever_they_appear() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/trackwire",
                "postgres://postgres@127.0.0.1:5432/trackwire",
            ),
            (
                "postgres://app:s3cret@db:5432/trackwire",
                "postgres://app:***@db:5432/trackwire",
            ),
            (
                "postgresql://app:pa/ss@w?rd@db/trackwire?sslmode=require",
                "postgresql://app:***@db/trackwire?sslmode=require",
            ),
            (
                "postgres://db/trackwire?user=app&password=s3cret",
                "postgres://db/trackwire?user=app&password=***",
            ),
            ("not a url s3cret", "***"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown);
        }
    }

    #[test]
    fn secret_kafka_properties_are_recognised() {
        for name in [
            "sasl.password",
            "ssl.key.password",
            "sasl.oauthbearer.client.secret",
            "ssl.key.pem",
            "sasl.oauthbearer.config",
        ] {
            assert!(is_secret_property(name), "{name}");
        }
        for name in ["fetch.wait.max.ms", "security.protocol", "sasl.username"] {
            assert!(!is_secret_property(name), "{name}");
        }
    }
}
