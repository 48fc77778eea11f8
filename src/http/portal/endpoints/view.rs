//! Pieces of the endpoints pages that show rather than take input: notices
//! after a redirect, an endpoint's health line, the secret shown once, and
//! the test-event form.

use serde::Deserialize;

use crate::http::portal::html::{self, csrf_field, Esc};
use crate::schema::EventType;
use crate::store::endpoints::Endpoint;
use crate::store::health::Health;
use crate::webhook::SigningSecret;

/// The endpoint's status badge: a disabling by trackwire (a `410 Gone`)
/// looks different from one the partner chose.
pub fn status_badge(e: &Endpoint) -> String {
    match (e.enabled, &e.disabled_reason) {
        (true, _) => html::badge("ok", "enabled"),
        (false, Some(_)) => html::badge("bad", "disabled: gone"),
        (false, None) => html::badge("muted", "disabled"),
    }
}

/// Why trackwire disabled the endpoint and how to enable it again; empty
/// when it did not.
pub fn disabled_notice(e: &Endpoint) -> String {
    match (&e.disabled_reason, e.disabled_at) {
        (Some(reason), Some(at)) if !e.enabled => html::notice(
            "bad",
            &format!(
                "Disabled on {}: {reason}, which asks senders to stop. Deliveries since then wait; \
                 once your receiver is back, tick Enabled below and save to resume them.",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
        ),
        _ => String::new(),
    }
}

/// How the endpoint's requests are signed and, for ed25519, the public keys
/// to verify them with (any time: they are not secrets).
pub fn signing_line(e: &Endpoint) -> String {
    let keys: String = e
        .secrets
        .iter()
        .filter_map(SigningSecret::public_key)
        .map(|k| format!(r#"<code class="public-key">{}</code><br>"#, Esc(k)))
        .collect();
    match e.signing_scheme {
        crate::webhook::SigningScheme::Hmac => {
            format!("HMAC-SHA256 (v1), {} active", e.secrets.len())
        }
        crate::webhook::SigningScheme::Ed25519 => format!(
            r#"ed25519 (v1a); verify <code>webhook-signature</code> with {}:<br>{keys}"#,
            if e.secrets.len() > 1 {
                "either public key"
            } else {
                "the public key"
            }
        ),
    }
}

/// A notice named in the query after a redirect (fixed texts only, so the
/// query cannot put words on the page).
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    /// `deleted`, `updated`, `retry`, `retried`, `delivered`.
    pub notice: Option<String>,
    /// With `retried`: how many deliveries the bulk retry queued. Shown only
    /// when it reads as a number, so the query cannot put words on the page.
    pub queued: Option<String>,
}

impl NoticeQuery {
    /// The notice's box, if any.
    pub fn html(&self) -> String {
        let queued = self.queued.as_deref().and_then(|n| n.parse::<u64>().ok());
        if let (Some("retried"), Some(n)) = (self.notice.as_deref(), queued) {
            return html::notice(if n == 0 { "warn" } else { "ok" }, &retried(n));
        }
        let (kind, text) = match self.notice.as_deref() {
            Some("deleted") => ("ok", "Endpoint deleted."),
            Some("updated") => ("ok", "Endpoint saved."),
            Some("retry") => (
                "ok",
                "Retry queued: the delivery is sent again now. Reload to see the new attempt.",
            ),
            Some("delivered") => ("warn", "That delivery was acknowledged already."),
            Some("retried") => (
                "ok",
                "Retries queued for every matching failed delivery. Reload to follow them.",
            ),
            _ => return String::new(),
        };
        html::notice(kind, text)
    }
}

/// What a bulk retry of `n` deliveries says.
fn retried(n: u64) -> String {
    match n {
        0 => "No failed delivery matched: nothing was queued.".to_owned(),
        1 => "1 delivery queued for a retry: it is sent again now. Reload to follow it.".to_owned(),
        n => format!(
            "{n} deliveries queued for a retry: they are sent again now. Reload to follow them."
        ),
    }
}

/// One line of health for an endpoint.
pub(super) fn health_line(h: Option<&Health>) -> String {
    let Some(h) = h else {
        return r#"<span class="muted small">No health recorded yet</span>"#.to_owned();
    };
    let rate = h
        .ack_rate
        .map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let risk = if h.at_risk {
        html::badge("bad", "at risk")
    } else {
        String::new()
    };
    let breaker = match h.breaker_state.as_str() {
        "closed" => String::new(),
        other => html::badge("warn", &format!("breaker {other}")),
    };
    format!(r#"<span class="small">ACK rate {rate}</span> {risk} {breaker}"#)
}

/// The box that shows a secret this once.
pub(super) fn secret_box(secret: &SigningSecret) -> String {
    if let Some(public) = secret.public_key() {
        return format!(
            r#"<p><strong>Public key</strong> of the new ed25519 signing key; it is not a secret and stays on this page.</p>
<p class="secret"><code id="public-key">{}</code></p>"#,
            Esc(public)
        );
    }
    format!(
        r#"<p><strong>Signing secret</strong>, shown this once: copy it into your receiver now.</p>
<p class="secret"><code id="secret">{}</code></p>
<p class="muted small">Verify each request's <code>webhook-signature</code> header with it (Standard Webhooks: HMAC-SHA256 over <code>webhook-id.webhook-timestamp.body</code>).</p>"#,
        Esc(secret.as_str())
    )
}

/// The "send test event" form of an endpoint.
pub fn test_form(session: &crate::store::portal::Session, e: &Endpoint) -> String {
    let options: String = EventType::ALL
        .iter()
        .map(|t| {
            let selected = if e.event_types.iter().min() == Some(t) {
                " selected"
            } else {
                ""
            };
            format!(r#"<option value="{0}"{selected}>{0}</option>"#, t.as_str())
        })
        .collect();
    format!(
        r#"<form method="post" action="/portal/endpoints/{}/test">{}
<label for="event_type">Event type</label><select id="event_type" name="event_type">{options}</select>
<button id="send-test">Send test event</button></form>
<p class="muted small">A synthetic payload with <code>is_test: true</code>, signed like a real delivery, sent now; you see the answer here.</p>"#,
        Esc(&e.id),
        csrf_field(session)
    )
}
