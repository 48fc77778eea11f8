//! The orders dashboard of built-in tracking.
//!
//! - `GET /portal/orders`: the partner's orders, newest change first, with
//!   filters by status and time, search by order id, merchant reference or
//!   customer id, and keyset pages (fast however many orders there are).
//! - `GET /portal/orders/{id}`: one order with its timeline and its
//!   tracking page; `POST /portal/orders/{id}/new-link` replaces that link.
//! - `GET /portal/live/orders` and `/portal/live/orders/{id}`: the live part
//!   of those pages alone, which `/portal/static/live.js` fetches every few
//!   seconds.

mod sms;
mod view;

use std::str::FromStr;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::error::PortalError;
use super::html::{self, Nav};
use super::session::{Posted, SignedIn};
use crate::http::problem::Problem;
use crate::http::AppState;
use crate::schema::EventType;
use crate::store::orders::{self, OrderFilter};
use crate::store::tracking;

/// Orders per page.
pub const PAGE: i64 = 50;
/// How often the pages poll for changes, in milliseconds.
const LIVE_EVERY_MS: u64 = 2000;

/// The periods the time filter offers: value, label, length.
const PERIODS: [(&str, &str, i64); 4] = [
    ("1h", "Last hour", 3600),
    ("24h", "Last 24 hours", 24 * 3600),
    ("7d", "Last 7 days", 7 * 24 * 3600),
    ("30d", "Last 30 days", 30 * 24 * 3600),
];

/// The dashboard's filters and page, as the form and the links send them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct OrdersQuery {
    /// An event type (the current status), or empty.
    #[serde(default)]
    pub status: String,
    /// One of [`PERIODS`], or empty for any time.
    #[serde(default)]
    pub period: String,
    /// An exact order id, merchant reference or customer id, or empty.
    #[serde(default)]
    pub q: String,
    /// Keyset page: list orders after the one with this `status_at`
    /// (RFC 3339) ...
    #[serde(default)]
    pub after_at: String,
    /// ... and this order id.
    #[serde(default)]
    pub after_id: String,
}

impl OrdersQuery {
    /// The store filter; a value that does not parse is a 400 naming it.
    fn filter(&self, now: DateTime<Utc>) -> Result<OrderFilter, Problem> {
        let event_type = match self.status.as_str() {
            "" => None,
            s => Some(
                EventType::from_str(s).map_err(|_| Problem::invalid("status", "unknown status"))?,
            ),
        };
        let since = match self.period.as_str() {
            "" => None,
            p => {
                let (_, _, secs) = PERIODS
                    .iter()
                    .find(|(v, _, _)| *v == p)
                    .ok_or_else(|| Problem::invalid("period", "unknown period"))?;
                Some(now - Duration::seconds(*secs))
            }
        };
        let search = Some(self.q.trim().to_owned()).filter(|q| !q.is_empty());
        let after = match (self.after_at.as_str(), self.after_id.as_str()) {
            ("", _) => None,
            (at, id) => {
                let at = DateTime::parse_from_rfc3339(at)
                    .map_err(|_| Problem::invalid("after_at", "not an RFC 3339 time"))?;
                Some((at.with_timezone(&Utc), id.to_owned()))
            }
        };
        Ok(OrderFilter {
            event_type,
            since,
            search,
            after,
        })
    }

    /// The query string of these filters, without the page.
    fn filters(&self) -> String {
        format!(
            "status={}&period={}&q={}",
            html::query_value(&self.status),
            html::query_value(&self.period),
            html::query_value(self.q.trim()),
        )
    }

    /// The query string of these filters and this page.
    fn with_page(&self) -> String {
        format!(
            "{}&after_at={}&after_id={}",
            self.filters(),
            html::query_value(&self.after_at),
            html::query_value(&self.after_id),
        )
    }
}

/// The orders of the page `query` names, and the link to the next page.
async fn load(
    state: &AppState,
    partner: &str,
    query: &OrdersQuery,
) -> Result<view::ListPage, PortalError> {
    let filter = query.filter(Utc::now())?;
    let client = state.pool.get().await?;
    let mut rows = orders::list(&**client, partner, &filter, PAGE + 1).await?;
    let older = (rows.len() as i64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        let last = &rows[rows.len() - 1];
        format!(
            "/portal/orders?{}&after_at={}&after_id={}",
            query.filters(),
            html::query_value(
                &last
                    .status_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ),
            html::query_value(&last.order_id),
        )
    });
    let newest = filter
        .after
        .is_some()
        .then(|| format!("/portal/orders?{}", query.filters()));
    Ok(view::ListPage {
        orders: rows,
        older,
        newest,
        filtered: filter != OrderFilter::default(),
    })
}

/// The dashboard.
pub async fn list(
    state: web::Data<AppState>,
    signed: SignedIn,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, PortalError> {
    let page = load(&state, signed.partner(), &query).await?;
    let on = {
        let client = state.pool.get().await?;
        tracking::enabled(&**client, signed.partner())
            .await?
            .unwrap_or(false)
    };
    let live = format!("/portal/live/orders?{}", query.with_page());
    let body = view::list_page(&query, &page, on, &live, LIVE_EVERY_MS);
    Ok(html::with_own_script(html::ok(
        "Orders",
        &signed.session,
        Nav::Orders,
        &body,
    )))
}

/// The live part of the dashboard.
pub async fn list_live(
    state: web::Data<AppState>,
    signed: SignedIn,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, PortalError> {
    let page = load(&state, signed.partner(), &query).await?;
    Ok(fragment(view::list_live(&page)))
}

/// The order page's content, or a 404 for an order this partner does not
/// have (another partner's included).
async fn order_body(
    state: &AppState,
    signed: &SignedIn,
    order_id: &str,
) -> Result<view::OrderPage, PortalError> {
    let client = state.pool.get().await?;
    let order = orders::get(&**client, signed.partner(), order_id)
        .await?
        .ok_or_else(|| Problem::not_found("order", order_id))?;
    let timeline = orders::timeline(&**client, signed.partner(), order_id).await?;
    let page_url = state.api.tracking_pages.url(&order.token);
    let sms = crate::store::sms::of_order(&**client, signed.partner(), order_id).await?;
    Ok(view::OrderPage {
        order,
        timeline,
        page_url,
        sms,
    })
}

/// A notice after the link was replaced.
#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// Set after `POST /portal/orders/{id}/new-link`.
    pub replaced: Option<String>,
}

/// One order.
pub async fn detail(
    state: web::Data<AppState>,
    signed: SignedIn,
    id: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, PortalError> {
    let page = order_body(&state, &signed, &id).await?;
    let notice = if query.replaced.is_some() {
        html::notice("ok", "New link made: the old one no longer opens the page.")
    } else {
        String::new()
    };
    let live = format!("/portal/live/orders/{}", html::query_value(&id));
    let body = view::order_page(&page, &signed.session, &notice, &live, LIVE_EVERY_MS);
    Ok(html::with_own_script(html::ok(
        "Order",
        &signed.session,
        Nav::Orders,
        &body,
    )))
}

/// The live part of one order's page.
pub async fn detail_live(
    state: web::Data<AppState>,
    signed: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let page = order_body(&state, &signed, &id).await?;
    Ok(fragment(view::order_live(&page)))
}

/// Gives the order a new tracking link; the old one answers 404 at once.
pub async fn new_link(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let client = state.pool.get().await?;
    orders::replace_token(&**client, posted.signed.partner(), &id)
        .await?
        .ok_or_else(|| Problem::not_found("order", id.as_str()))?;
    Ok(html::see_other(&format!(
        "/portal/orders/{}?replaced=1",
        html::query_value(&id)
    )))
}

/// The script of the live pages.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("live.js"))
}

/// A live fragment: never cached, marked so the script knows it is one.
fn fragment(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(("x-live-fragment", "1"))
        .body(body)
}
