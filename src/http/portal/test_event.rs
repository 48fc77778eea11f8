//! `POST /portal/endpoints/{id}/test`: sends a test event (the API's
//! [`fire`]) and shows the live answer: status, latency, headers, body.

use actix_web::{web, HttpResponse};

use super::error::PortalError;
use super::events::masked_payload;
use super::html::{self, Esc, Nav};
use super::session::Posted;
use crate::http::test_events::fire;
use crate::http::AppState;

/// Sends and shows.
pub async fn send(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let Posted { signed, form } = posted;
    let event_type = Some(form.get("event_type")).filter(|t| !t.is_empty());
    let out = fire(&state, signed.partner(), &id, event_type).await?;
    let verdict = if out.acknowledged {
        html::notice(
            "ok",
            "Acknowledged: your endpoint answered 2xx. It is ready for live events.",
        )
    } else {
        html::notice(
            "bad",
            &format!(
                "Not acknowledged: {}",
                out.error
                    .as_deref()
                    .unwrap_or("the endpoint did not answer 2xx")
            ),
        )
    };
    let status = out
        .status
        .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
    let headers: String = out
        .headers
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
                Esc(k),
                Esc(v)
            )
        })
        .collect();
    let headers = if headers.is_empty() {
        r#"<p class="muted">None.</p>"#.to_owned()
    } else {
        format!(r#"<div class="scroll"><table>{headers}</table></div>"#)
    };
    let body_excerpt = out.body_excerpt.as_deref().unwrap_or("");
    let body = format!(
        r#"<h1>Test event sent</h1>{verdict}
<div class="card"><div class="grid">
<div><span>HTTP status</span><strong id="test-status">{status}</strong></div>
<div><span>Latency</span>{latency} ms</div>
<div><span>Event</span><a href="/portal/events/{event}"><code>{event}</code></a></div>
</div></div>
<h2>Response headers</h2><div class="card">{headers}</div>
<h2>Response body <span class="muted small">(start)</span></h2><div class="card"><pre id="test-body">{body_excerpt}</pre></div>
<h2>Payload sent</h2><div class="card"><pre>{payload}</pre></div>
<p><a href="/portal/endpoints/{id}">Back to the endpoint</a> · <a href="/portal/events">Event log</a></p>"#,
        latency = out.latency_ms,
        event = Esc(&out.event_id),
        body_excerpt = Esc(body_excerpt),
        payload = Esc(&masked_payload(out.payload)),
        id = Esc(&id),
    );
    Ok(html::ok(
        "Test event",
        &signed.session,
        Nav::Endpoints,
        &body,
    ))
}
