//! The SMS section of an order's page: each SMS with its state and the
//! masked number. Never the text (it may hold the OTP) nor the number.

use std::fmt::Write as _;

use crate::http::portal::html::{self, Esc};
use crate::http::tracking_page::label;
use crate::schema::EventType;
use crate::store::sms::OrderSms;

/// What a state means to the merchant.
fn state_text(state: &str) -> (&'static str, &'static str) {
    match state {
        "pending" => ("info", "waiting to be sent"),
        "sending" => ("info", "sending"),
        "accepted" => ("info", "sent, no report yet"),
        "delivered" => ("ok", "delivered"),
        "failed" => ("bad", "failed"),
        "expired" => ("bad", "expired undelivered"),
        "opted_out" => ("warn", "not sent: the customer replied STOP"),
        "no_phone" => ("warn", "not sent: no phone number on the order"),
        "invalid_phone" => ("warn", "not sent: the phone number is not a mobile number"),
        "disabled" => ("warn", "not sent: this SMS was switched off"),
        _ => ("info", "unknown"),
    }
}

fn label_of(event_type: &str) -> String {
    event_type
        .parse::<EventType>()
        .map_or_else(|_| event_type.to_owned(), |t| label(t).to_owned())
}

/// The section; empty when the order has no SMS (none configured).
pub fn section(sms: &[OrderSms]) -> String {
    if sms.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<h2>SMS to the customer</h2><div class="scroll"><table class="sms"><thead><tr><th>For</th><th>To</th><th>State</th><th>Sent</th><th>Parts</th></tr></thead><tbody>"#,
    );
    for s in sms {
        let (kind, text) = state_text(&s.state);
        let badge = html::badge(kind, text);
        let sent = s.sent_at.map(html::time).unwrap_or_else(|| "—".to_owned());
        let _ = write!(
            out,
            r#"<tr class="sms-row" data-state="{state}"><td>{ty}</td><td><code>{to}</code></td><td>{badge}{tries}</td><td class="nowrap">{sent}</td><td>{parts}</td></tr>"#,
            state = Esc(&s.state),
            ty = Esc(&label_of(&s.event_type)),
            to = Esc(s.phone_masked.as_deref().unwrap_or("—")),
            tries = if s.attempts > 1 {
                format!(
                    r#" <span class="muted small">after {} tries</span>"#,
                    s.attempts
                )
            } else {
                String::new()
            },
            parts = s.parts.map_or_else(|| "—".to_owned(), |p| p.to_string()),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
