//! The tracking URL of an order, from a template in the configuration
//! (`schema.tracking_url_template`, e.g. `https://track.example.com/{order_id}`).

use std::fmt::Write;

/// The placeholder for the order id; the template must contain it.
const ORDER_ID: &str = "{order_id}";
/// The optional placeholder for the partner id.
const PARTNER_ID: &str = "{partner_id}";

/// A checked tracking URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingUrlTemplate(String);

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTrackingUrlTemplate {
    /// Not an absolute http(s) URL.
    #[error("must start with https:// or http://")]
    Scheme,
    /// No `{order_id}`: every order would get the same page.
    #[error("must contain {{order_id}}")]
    NoOrderId,
}

impl TrackingUrlTemplate {
    /// Checks `template`: an http(s) URL containing `{order_id}`, optionally
    /// `{partner_id}`.
    pub fn parse(template: &str) -> Result<Self, InvalidTrackingUrlTemplate> {
        if !(template.starts_with("https://") || template.starts_with("http://")) {
            return Err(InvalidTrackingUrlTemplate::Scheme);
        }
        if !template.contains(ORDER_ID) {
            return Err(InvalidTrackingUrlTemplate::NoOrderId);
        }
        Ok(TrackingUrlTemplate(template.to_owned()))
    }

    /// The URL for one order. The ids are percent-encoded, so an id holding `/`, `?`
    /// or `#` cannot change which page the URL names.
    pub fn url(&self, partner_id: &str, order_id: &str) -> String {
        self.0
            .replace(PARTNER_ID, &encode(partner_id))
            .replace(ORDER_ID, &encode(order_id))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_are_filled_in_and_encoded() {
        let t = TrackingUrlTemplate::parse("https://track.example.com/{partner_id}/{order_id}")
            .unwrap();
        assert_eq!(t.url("acme", "A-1"), "https://track.example.com/acme/A-1");
        assert_eq!(
            t.url("acme", "a/b?c#d é"),
            "https://track.example.com/acme/a%2Fb%3Fc%23d%20%C3%A9"
        );
    }

    #[test]
    fn a_template_without_the_order_id_or_a_scheme_is_refused() {
        assert_eq!(
            TrackingUrlTemplate::parse("https://track.example.com/"),
            Err(InvalidTrackingUrlTemplate::NoOrderId)
        );
        assert_eq!(
            TrackingUrlTemplate::parse("track.example.com/{order_id}"),
            Err(InvalidTrackingUrlTemplate::Scheme)
        );
    }
}
