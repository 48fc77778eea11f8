//! `GET /portal/tracking`, `POST /portal/tracking`: the built-in tracking
//! setting, on a page of its own that says what it does.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::PortalError;
use super::html::{self, csrf_field, Nav};
use super::session::{Posted, SignedIn};
use crate::http::AppState;
use crate::store::tracking;

/// A notice after the form was posted.
#[derive(Debug, Default, Deserialize)]
pub struct SetQuery {
    /// `on` or `off`.
    pub turned: Option<String>,
}

/// The page.
pub async fn page(
    state: web::Data<AppState>,
    signed: SignedIn,
    query: web::Query<SetQuery>,
) -> Result<HttpResponse, PortalError> {
    let client = state.pool.get().await?;
    let on = tracking::enabled(&**client, signed.partner())
        .await?
        .unwrap_or(false);
    let notice = match query.turned.as_deref() {
        Some("on") => html::notice(
            "ok",
            "Built-in tracking is on: new order events now appear on the Orders page.",
        ),
        Some("off") => html::notice(
            "warn",
            "Built-in tracking is off: no new tracking pages, and existing links answer \
             \u{201c}not found\u{201d}. Your orders stay on the Orders page.",
        ),
        _ => String::new(),
    };
    let (state_badge, action, button, class) = if on {
        (
            html::badge("ok", "On"),
            "off",
            "Turn built-in tracking off",
            "danger",
        )
    } else {
        (
            html::badge("muted", "Off"),
            "on",
            "Turn built-in tracking on",
            "",
        )
    };
    let body = format!(
        r#"<h1>Built-in tracking</h1>{notice}
<div class="card">
<p><strong>For shops without a tech team:</strong> no endpoint, no API key, no code.
With built-in tracking on, trackwire keeps the status and timeline of every order from its next
event on, shows them live on the <a href="/portal/orders">Orders</a> page, and gives each order a
tracking page your customers can open from a link (webhooks of schema v2 carry it as
<code>tracking_url</code>).</p>
<p>The tracking page shows your shop's name, the order reference, the status and its history, the
delivery window and the rider's first name while the order is out for delivery, the reason and next
step after a failed attempt, and a return's progress. It never shows the delivery code (OTP), a phone
number, an address or a customer id.</p>
<p>With tracking on, trackwire can also text your customers at each event (the OTP while out for
delivery): write and switch on each SMS on the <a href="/portal/sms" id="sms-link">SMS templates</a> page.</p>
<p>You can use it and endpoints at once. Turning it off stops new tracking pages and takes the
existing ones offline; the orders you have stay on the Orders page, and turning it on again brings
their pages back.</p>
<p>Built-in tracking is <span id="tracking-state">{state_badge}</span></p>
<form method="post" action="/portal/tracking">{csrf}<input type="hidden" name="enabled" value="{action}">
<button id="tracking-toggle" class="{class}">{button}</button></form>
</div>"#,
        csrf = csrf_field(&signed.session),
    );
    Ok(html::ok(
        "Built-in tracking",
        &signed.session,
        Nav::Tracking,
        &body,
    ))
}

/// Turns the setting on or off.
pub async fn set(state: web::Data<AppState>, posted: Posted) -> Result<HttpResponse, PortalError> {
    let on = match posted.form.get("enabled") {
        "on" => true,
        "off" => false,
        _ => {
            return Err(PortalError::BadForm(
                "enabled must be \"on\" or \"off\"".to_owned(),
            ))
        }
    };
    let client = state.pool.get().await?;
    tracking::set_enabled(&**client, posted.signed.partner(), on).await?;
    tracing::info!(
        partner = posted.signed.partner(),
        enabled = on,
        "built-in tracking set in the portal"
    );
    Ok(html::see_other(if on {
        "/portal/tracking?turned=on"
    } else {
        "/portal/tracking?turned=off"
    }))
}
