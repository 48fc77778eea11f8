//! What the orders pages show. Everything from the store goes through
//! [`Esc`].

use std::fmt::Write as _;

use super::{OrdersQuery, PERIODS};
use crate::http::portal::html::{self, csrf_field, Esc};
use crate::http::tracking_page::label;
use crate::schema::EventType;
use crate::store::orders::{Order, TimelineEntry};
use crate::store::portal::Session;

/// One page of the dashboard.
pub struct ListPage {
    /// The orders shown, newest change first.
    pub orders: Vec<Order>,
    /// The next (older) page, when there is one.
    pub older: Option<String>,
    /// The first page, when this is not it.
    pub newest: Option<String>,
    /// Whether any filter is set.
    pub filtered: bool,
}

/// One order with what its page shows.
pub struct OrderPage {
    /// The order.
    pub order: Order,
    /// Its events, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Its public tracking page.
    pub page_url: String,
    /// The SMS sent (or not) to its customer.
    pub sms: Vec<crate::store::sms::OrderSms>,
}

/// The badge of a status: a colour and always its name.
pub fn status_badge(t: EventType) -> String {
    let kind = match t {
        EventType::OrderConfirmed => "info",
        EventType::OutForDelivery => "warn",
        EventType::Delivered => "ok",
        EventType::DeliveryFailed => "bad",
        EventType::ReturnInitiated | EventType::ReturnPickedUp => "muted",
    };
    html::badge(kind, label(t))
}

fn select(name: &str, label_text: &str, options: &[(&str, &str)], current: &str) -> String {
    let mut out = format!(
        r#"<div><label for="{name}">{label_text}</label><select id="{name}" name="{name}">"#
    );
    for (value, text) in options {
        let selected = if *value == current { " selected" } else { "" };
        let _ = write!(out, r#"<option value="{value}"{selected}>{text}</option>"#);
    }
    out.push_str("</select></div>");
    out
}

fn filter_form(query: &OrdersQuery) -> String {
    let mut statuses = vec![("", "Any status")];
    statuses.extend(EventType::ALL.iter().map(|t| (t.as_str(), label(*t))));
    let mut periods = vec![("", "Any time")];
    periods.extend(PERIODS.iter().map(|(v, l, _)| (*v, *l)));
    format!(
        r#"<form method="get" action="/portal/orders" class="card" role="search"><div class="row">
{status}{period}
<div><label for="q">Order id, merchant reference or customer id</label><input type="text" id="q" name="q" value="{q}"></div>
<div><button id="apply">Show</button> <a class="button secondary" href="/portal/orders">Clear</a></div>
</div></form>"#,
        status = select("status", "Status", &statuses, &query.status),
        period = select("period", "Last change", &periods, &query.period),
        q = Esc(query.q.trim()),
    )
}

/// The whole dashboard.
pub fn list_page(query: &OrdersQuery, page: &ListPage, on: bool, live: &str, every: u64) -> String {
    let off = if on {
        String::new()
    } else {
        r#"<p class="notice warn">Built-in tracking is off: new events do not update this page. <a href="/portal/tracking">Turn it on</a></p>"#.to_owned()
    };
    format!(
        r#"<h1>Orders</h1>{off}{form}
<p class="muted small" id="live-note" aria-live="polite">Live: this list updates by itself.</p>
<div id="orders" data-live="{live}" data-every="{every}">{rows}</div>
<script src="/portal/static/live.js"></script>"#,
        form = filter_form(query),
        live = Esc(live),
        rows = list_live(page),
    )
}

/// The part of the dashboard that updates live: the table and the pager.
pub fn list_live(page: &ListPage) -> String {
    if page.orders.is_empty() {
        let text = if page.filtered {
            "No orders match these filters."
        } else {
            "No orders yet: they appear here with their first event once built-in tracking is on."
        };
        return html::notice("info", text);
    }
    // Status and time first: on a phone they are what shows without
    // scrolling sideways.
    let mut out = String::from(
        r#"<div class="scroll"><table><thead><tr><th>Order</th><th>Status</th><th>Last change</th><th>Merchant ref</th><th>Customer</th></tr></thead><tbody>"#,
    );
    for o in &page.orders {
        let _ = write!(
            out,
            r#"<tr class="order" data-order="{id}"><td><a href="/portal/orders/{href}">{id}</a></td><td class="status">{badge}</td><td class="nowrap">{at}</td><td>{reference}</td><td>{customer}</td></tr>"#,
            id = Esc(&o.order_id),
            href = html::query_value(&o.order_id),
            reference = Esc(o.merchant_order_ref.as_deref().unwrap_or("—")),
            customer = Esc(o.customer_id.as_deref().unwrap_or("—")),
            badge = status_badge(o.event_type),
            at = html::time(o.status_at),
        );
    }
    out.push_str("</tbody></table></div>");
    let mut pager = String::new();
    if let Some(newest) = &page.newest {
        let _ = write!(pager, r#"<a href="{}">← Newest</a>"#, Esc(newest));
    }
    if let Some(older) = &page.older {
        let _ = write!(
            pager,
            r#"<a id="older" href="{}">Older orders →</a>"#,
            Esc(older)
        );
    }
    if !pager.is_empty() {
        let _ = write!(out, r#"<div class="pager">{pager}</div>"#);
    }
    out
}

/// One order's page.
pub fn order_page(
    page: &OrderPage,
    session: &Session,
    notice: &str,
    live: &str,
    every: u64,
) -> String {
    let o = &page.order;
    format!(
        r#"<p><a href="/portal/orders">← All orders</a></p><h1>Order {id}</h1>{notice}
<p class="muted small" id="live-note" aria-live="polite">Live: this page updates by itself.</p>
<div id="order" data-live="{live}" data-every="{every}">{content}</div>
<h2>Tracking page</h2>
<div class="card"><p><a id="tracking-link" href="{url}" rel="noreferrer">{url}</a></p>
<p class="muted small">The link your customer gets. Making a new one stops the old link at once;
the order's next events carry the new link.</p>
<form method="post" action="/portal/orders/{href}/new-link">{csrf}<button class="secondary" id="new-link">Make a new link</button></form></div>
<script src="/portal/static/live.js"></script>"#,
        id = Esc(&o.order_id),
        href = html::query_value(&o.order_id),
        live = Esc(live),
        content = order_live(page),
        url = Esc(&page.page_url),
        csrf = csrf_field(session),
    )
}

/// The part of an order's page that updates live. Each section is one
/// function, so what else is sent to the customer can join as another.
pub fn order_live(page: &OrderPage) -> String {
    [
        summary(&page.order),
        super::sms::section(&page.sms),
        timeline(&page.timeline),
    ]
    .concat()
}

fn summary(o: &Order) -> String {
    format!(
        r#"<div class="card summary"><div class="grid">
<div><span>Status</span><span class="status">{badge}</span></div>
<div><span>OMS status</span><code>{status}</code></div>
<div><span>Last change</span>{at}</div>
<div><span>Merchant ref</span>{reference}</div>
<div><span>Customer</span>{customer}</div>
<div><span>Recorded</span>{changed}</div>
</div></div>"#,
        badge = status_badge(o.event_type),
        status = Esc(&o.status),
        at = html::time(o.status_at),
        reference = Esc(o.merchant_order_ref.as_deref().unwrap_or("—")),
        customer = Esc(o.customer_id.as_deref().unwrap_or("—")),
        changed = html::time(o.changed_at),
    )
}

fn timeline(entries: &[TimelineEntry]) -> String {
    let mut out = String::from(
        r#"<h2>Timeline</h2><div class="scroll"><table class="timeline"><thead><tr><th>#</th><th>When</th><th>Status</th><th>Details</th></tr></thead><tbody>"#,
    );
    for e in entries.iter().rev() {
        let _ = write!(
            out,
            r#"<tr class="entry"><td>{seq}</td><td class="nowrap">{at}</td><td>{badge} <code class="small">{status}</code></td><td>{details}</td></tr>"#,
            seq = e.sequence,
            at = html::time(e.occurred_at),
            badge = status_badge(e.event_type),
            status = Esc(&e.status),
            details = details(e),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn details(e: &TimelineEntry) -> String {
    let mut parts = Vec::new();
    if let Some((start, end)) = e.eta {
        parts.push(format!("ETA {} – {}", html::time(start), html::time(end)));
    }
    if let Some(rider) = &e.rider_first_name {
        parts.push(format!("rider {}", Esc(rider)));
    }
    if let Some(n) = e.attempt_number {
        parts.push(format!("attempt {n}"));
    }
    match (&e.failure_reason_code, &e.failure_reason) {
        (Some(code), Some(text)) => parts.push(format!("{}: {}", Esc(code), Esc(text))),
        (None, Some(text)) | (Some(text), None) => parts.push(Esc(text).to_string()),
        (None, None) => {}
    }
    if let Some(reason) = &e.return_reason {
        parts.push(format!("return: {}", Esc(reason)));
    }
    parts.join("; ")
}
