//! `GET /track/{token}`: the public tracking page of one order, the link an
//! end customer gets. No sign-in: the token (128 random bits, never the
//! order id) is the only key, and it shows one order of one partner.
//!
//! The page is what a small phone on a slow network needs: one HTML
//! document with its style inline, no fonts, scripts or images, a text
//! timeline, status in words (never only colour). It shows the merchant's
//! name, the order reference, the status and timeline, the ETA window and
//! rider's first name while out for delivery, the failure reason and next
//! step, the return's progress; it is built only from the tracked order and
//! its timeline, which hold no OTP, phone, address or customer id.
//!
//! It changes with the order, so it is revalidated on every view
//! (`no-cache` with an ETag of the order's latest change): a reload costs a
//! 304 until something happens.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use super::portal::html::Esc;
use super::problem::Problem;
use super::AppState;
use crate::schema::EventType;
use crate::store::orders::{self, Order, TimelineEntry};

/// Mounts the page (at the root: `/track/{token}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/track/{token}", web::get().to(show));
}

/// What a customer reads for each status.
pub fn label(t: EventType) -> &'static str {
    match t {
        EventType::OrderConfirmed => "Order confirmed",
        EventType::OutForDelivery => "Out for delivery",
        EventType::Delivered => "Delivered",
        EventType::DeliveryFailed => "Delivery attempt failed",
        EventType::ReturnInitiated => "Return requested",
        EventType::ReturnPickedUp => "Return picked up",
    }
}

/// Whether `token` could have been issued: anything else is answered
/// without a query.
fn plausible(token: &str) -> bool {
    token.len() == 22
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    if !plausible(&token) {
        return Ok(not_found());
    }
    let client = state.pool.get().await?;
    let Some((merchant, order)) = orders::by_token(&**client, &token).await? else {
        return Ok(not_found());
    };
    let etag = format!(
        "W/\"{}-{}\"",
        order.last_sequence,
        order.changed_at.timestamp_micros()
    );
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return Ok(with_headers(HttpResponse::NotModified(), "no-cache")
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let timeline = orders::timeline(&**client, &order.partner_id, &order.order_id).await?;
    let body = render(&merchant, &order, &timeline);
    Ok(with_headers(HttpResponse::Ok(), "no-cache")
        .insert_header((header::ETAG, etag))
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body))
}

/// The headers of every answer: private to whoever holds the link, never
/// indexed, never framed, and the token never leaves in a `Referer`.
fn with_headers(
    mut builder: actix_web::HttpResponseBuilder,
    cache: &str,
) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, format!("private, {cache}")))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(("x-robots-tag", "noindex, nofollow"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
        ));
    builder
}

/// The plain 404 of an unknown, replaced or withdrawn link.
fn not_found() -> HttpResponse {
    let body = document(
        "Page not found",
        "<h1>Page not found</h1><p>This tracking link is not valid any more, or it was \
         mistyped. Please check the link in your message.</p>",
    );
    with_headers(HttpResponse::build(StatusCode::NOT_FOUND), "no-store")
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body)
}

/// A time as the page shows it.
fn when(t: DateTime<Utc>) -> String {
    format!(
        r#"<time datetime="{}">{}</time>"#,
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        t.format("%-d %b %Y, %H:%M UTC")
    )
}

/// The page of one order.
pub fn render(merchant: &str, order: &Order, timeline: &[TimelineEntry]) -> String {
    let reference = order
        .merchant_order_ref
        .as_deref()
        .unwrap_or(&order.order_id);
    let latest = timeline.last();
    let title = format!("Order {reference} · {merchant}");
    let mut body = format!(
        r#"<p class="merchant">{merchant}</p>
<h1>Order {reference}</h1>
<section class="now" aria-labelledby="now">
<h2 id="now">Status</h2>
<p class="status {kind}">{label}</p>
<p class="muted">Since {since}</p>
{detail}
</section>"#,
        merchant = Esc(merchant),
        reference = Esc(reference),
        kind = order.event_type.as_str(),
        label = label(order.event_type),
        since = when(order.status_at),
        detail = current_detail(merchant, order.event_type, latest, timeline),
    );
    body.push_str(
        r#"<section aria-labelledby="history"><h2 id="history">Timeline</h2><ol class="timeline" reversed>"#,
    );
    for entry in timeline.iter().rev() {
        body.push_str(&format!(
            "<li><strong>{}</strong> {}{}</li>",
            label(entry.event_type),
            when(entry.occurred_at),
            entry_detail(entry),
        ));
    }
    body.push_str("</ol></section>");
    body.push_str(
        r#"<p class="muted small">This page follows your order: reload it for the latest status.</p>"#,
    );
    document(&title, &body)
}

/// What the current status means for the customer, and what happens next.
fn current_detail(
    merchant: &str,
    now: EventType,
    latest: Option<&TimelineEntry>,
    timeline: &[TimelineEntry],
) -> String {
    let merchant = Esc(merchant);
    match now {
        EventType::OrderConfirmed => {
            format!("<p>{merchant} has your order and will send it out soon.</p>")
        }
        EventType::OutForDelivery => {
            let rider = latest
                .and_then(|e| e.rider_first_name.as_deref())
                .map(|r| format!("<p>Your rider is <strong>{}</strong>.</p>", Esc(r)))
                .unwrap_or_default();
            let eta = latest
                .and_then(|e| e.eta)
                .map(|(start, end)| {
                    format!(
                        "<p>Expected between <strong>{}</strong> and <strong>{}</strong>.</p>",
                        when(start),
                        when(end)
                    )
                })
                .unwrap_or_default();
            format!("<p>Your order is on its way.</p>{eta}{rider}")
        }
        EventType::Delivered => "<p>Your order has been delivered.</p>".to_owned(),
        EventType::DeliveryFailed => {
            let reason = latest
                .and_then(|e| e.failure_reason.as_deref())
                .map(|r| format!("<p>Reason: {}</p>", Esc(r)))
                .unwrap_or_default();
            format!(
                "<p>We could not deliver your order this time.</p>{reason}\
                 <h3>What happens next</h3><p>{merchant} will arrange another attempt; this \
                 page shows it as soon as your order is out for delivery again.</p>"
            )
        }
        EventType::ReturnInitiated | EventType::ReturnPickedUp => return_progress(now, timeline),
    }
}

/// The return's steps, each marked done or to come (in words, not only by
/// colour).
fn return_progress(now: EventType, timeline: &[TimelineEntry]) -> String {
    let reason = timeline
        .iter()
        .rev()
        .find_map(|e| e.return_reason.as_deref())
        .map(|r| format!("<p>Reason given: {}</p>", Esc(r)))
        .unwrap_or_default();
    let picked = now == EventType::ReturnPickedUp;
    let step = |done: bool, text: &str| {
        let (class, state) = if done {
            ("done", "done")
        } else {
            ("next", "to come")
        };
        format!(r#"<li class="{class}">{text} <span class="muted">({state})</span></li>"#)
    };
    format!(
        r#"{reason}<h3>Return progress</h3><ol class="steps">{}{}{}</ol>"#,
        step(true, "Return requested"),
        step(picked, "Picked up from you"),
        step(false, "Received back by the merchant"),
    )
}

/// The details one timeline entry adds.
fn entry_detail(e: &TimelineEntry) -> String {
    let mut parts = Vec::new();
    if let Some((start, end)) = e.eta {
        parts.push(format!("expected {} – {}", when(start), when(end)));
    }
    if let Some(rider) = &e.rider_first_name {
        parts.push(format!("rider {}", Esc(rider)));
    }
    if let Some(reason) = &e.failure_reason {
        parts.push(Esc(reason).to_string());
    }
    if let Some(reason) = &e.return_reason {
        parts.push(Esc(reason).to_string());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<br><span class=\"muted\">{}</span>", parts.join("; "))
    }
}

/// The whole document around `body`.
fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"#,
        title = Esc(title),
    )
}

/// Mobile first: one column, system fonts, large text, colours that pass
/// WCAG AA contrast, and a status that is always also written out.
const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:#fff}
main{max-width:34rem;margin:0 auto;padding:16px}
.merchant{margin:0;font-weight:600;color:#3e4c59}
h1{font-size:1.5rem;margin:2px 0 12px;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:20px 0 6px}
h3{font-size:1rem;margin:14px 0 4px}
p{margin:6px 0}
.muted{color:#52606d}
.small{font-size:.9rem}
.now{border:2px solid #cbd2d9;border-radius:10px;padding:10px 14px}
.status{font-size:1.3rem;font-weight:700;margin:0;padding-left:10px;border-left:6px solid #52606d}
.status.out_for_delivery{border-color:#b26b00}
.status.delivered{border-color:#0e6b3f}
.status.delivery_failed{border-color:#a61b1b}
.status.order_confirmed{border-color:#0b4f8a}
.timeline,.steps{padding-left:1.3rem;margin:6px 0}
.timeline li,.steps li{margin:0 0 10px}
.steps li.done{font-weight:600}
time{white-space:nowrap}
"#;
