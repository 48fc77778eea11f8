//! The event log pages.
//!
//! - `GET /portal/events`: filters (event type, delivery status, time range)
//!   and pages of the last 500 events.
//! - `GET /portal/events/{id}`: the payload (OTP masked), each delivery with
//!   every attempt, and retry buttons.
//! - `POST /portal/deliveries/{id}/retry`, and `POST /portal/deliveries/retry`
//!   for every failed delivery the log's filters match.

use std::str::FromStr;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::endpoints::NoticeQuery;
use super::error::PortalError;
use super::html::{self, csrf_field, Esc, Nav};
use super::session::{Posted, SignedIn};
use crate::http::problem::Problem;
use crate::http::retries::notify;
use crate::http::AppState;
use crate::schema::{self, EventData, EventType, SchemaVersion};
use crate::store::event_log::{self, AttemptRow, DeliveryRow, LogFilter};
use crate::store::retries;

/// Events per page.
const PAGE: i64 = 25;

/// The payload as pretty JSON, with `delivery_otp` masked: the page may be
/// on a shared screen, and the log never needs the code itself.
pub fn masked_payload(mut payload: serde_json::Value) -> String {
    // v1 keeps it at the top, v2 in the `delivery` group.
    for at in ["/delivery_otp", "/delivery/otp"] {
        if let Some(otp) = payload.pointer_mut(at).filter(|otp| otp.is_string()) {
            *otp = serde_json::Value::String(schema::HIDDEN_OTP.to_owned());
        }
    }
    serde_json::to_string_pretty(&payload).unwrap_or_default()
}

/// What an endpoint of `version` received for `data`, its OTP hidden, as a
/// titled block.
fn payload_block(data: &EventData, version: SchemaVersion) -> Result<String, Problem> {
    let payload: serde_json::Value = serde_json::from_slice(&schema::render_for_log(data, version))
        .map_err(Problem::internal)?;
    Ok(format!(
        r#"<h3 class="small muted">Payload (schema {version}; the delivery OTP is hidden here)</h3><pre class="payload">{}</pre>"#,
        Esc(&masked_payload(payload))
    ))
}

/// The log's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    /// An event type, or empty.
    #[serde(default)]
    pub event_type: String,
    /// A status filter, or empty.
    #[serde(default)]
    pub status: String,
    /// `datetime-local` (UTC), or empty.
    #[serde(default)]
    pub from: String,
    /// `datetime-local` (UTC), or empty.
    #[serde(default)]
    pub to: String,
    /// Page number from 1.
    pub page: Option<i64>,
    /// A notice after a redirect.
    pub notice: Option<String>,
    /// With the `retried` notice: how many were queued.
    pub queued: Option<String>,
}

/// The statuses the filter offers.
const STATUSES: [&str; 5] = ["delivered", "failed", "retrying", "dead", "pending"];

/// Parses a `datetime-local` value as UTC.
fn local_time(field: &str, raw: &str) -> Result<Option<DateTime<Utc>>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| format!("{field}: not a date and time (YYYY-MM-DDTHH:MM)"))
}

impl LogQuery {
    fn filter(&self) -> Result<LogFilter, String> {
        let event_type = match self.event_type.as_str() {
            "" => None,
            t => Some(EventType::from_str(t).map_err(|e| format!("event type: {e}"))?),
        };
        let statuses = match self.status.as_str() {
            "" => None,
            s => Some(event_log::statuses_of(s).ok_or("status: unknown value")?),
        };
        Ok(LogFilter {
            event_type,
            statuses,
            from: local_time("from", &self.from)?,
            to: local_time("to", &self.to)?,
        })
    }

    /// The query string of these filters on `page`.
    fn href(&self, page: i64) -> String {
        format!(
            "/portal/events?event_type={}&status={}&from={}&to={}&page={page}",
            html::query_value(&self.event_type),
            html::query_value(&self.status),
            html::query_value(&self.from),
            html::query_value(&self.to),
        )
    }

    /// The form that retries every failed delivery these filters match,
    /// when the status filter is one of the failed ones.
    fn retry_all_form(&self, session: &crate::store::portal::Session, total: i64) -> String {
        if !matches!(self.status.as_str(), "failed" | "dead" | "retrying") || total == 0 {
            return String::new();
        }
        let hidden = |name: &str, value: &str| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                Esc(value)
            )
        };
        format!(
            r#"<form method="post" action="/portal/deliveries/retry">{}{}{}{}{}<button class="secondary" id="retry-all">Retry every {} delivery these filters match</button></form>"#,
            csrf_field(session),
            hidden("event_type", &self.event_type),
            hidden("status", &self.status),
            hidden("from", &self.from),
            hidden("to", &self.to),
            Esc(&self.status),
        )
    }

    fn form(&self) -> String {
        let select = |name: &str, label: &str, current: &str, options: &[&str]| {
            let mut out = format!(
                r#"<div><label for="{name}">{label}</label><select id="{name}" name="{name}"><option value="">all</option>"#
            );
            for o in options {
                let selected = if *o == current { " selected" } else { "" };
                out.push_str(&format!(r#"<option value="{o}"{selected}>{o}</option>"#));
            }
            out.push_str("</select></div>");
            out
        };
        let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        format!(
            r#"<form method="get" action="/portal/events" class="card"><div class="row">
{}{}
<div><label for="from">From (UTC)</label><input type="datetime-local" id="from" name="from" value="{}"></div>
<div><label for="to">To (UTC)</label><input type="datetime-local" id="to" name="to" value="{}"></div>
</div><button id="filter">Filter</button> <a class="button secondary" href="/portal/events">Clear</a></form>"#,
            select("event_type", "Event type", &self.event_type, &types),
            select("status", "Delivery status", &self.status, &STATUSES),
            Esc(&self.from),
            Esc(&self.to),
        )
    }
}

fn deliveries_cell(deliveries: &[DeliveryRow]) -> String {
    if deliveries.is_empty() {
        return r#"<span class="muted small">no endpoint takes this type</span>"#.to_owned();
    }
    deliveries
        .iter()
        .map(|d| {
            format!(
                r#"{} <span class="muted small">{} attempt{}</span>"#,
                html::status_badge(d.status.as_str()),
                d.attempts,
                if d.attempts == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// `GET /portal/events`.
pub async fn list(
    state: web::Data<AppState>,
    signed: SignedIn,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, PortalError> {
    let q = query.into_inner();
    let session = &signed.session;
    let notice = NoticeQuery {
        notice: q.notice.clone(),
        queued: q.queued.clone(),
    };
    let mut body = format!("<h1>Event log</h1>{}{}", notice.html(), q.form());
    let filter = match q.filter() {
        Ok(f) => f,
        Err(message) => {
            body.push_str(&html::notice("bad", &message));
            return Ok(html::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Event log",
                Some(session),
                Nav::Events,
                &body,
            ));
        }
    };
    let page = q.page.unwrap_or(1).clamp(1, event_log::WINDOW / PAGE + 1);
    let offset = (page - 1) * PAGE;
    let client = state.pool.get().await?;
    let found = event_log::list(&**client, signed.partner(), &filter, offset, PAGE).await?;
    if found.events.is_empty() {
        body.push_str(&html::notice(
            "info",
            "No events match. Test events you send show here too.",
        ));
    } else {
        let rows: String = found
            .events
            .iter()
            .map(|e| {
                let test = if e.is_test {
                    format!(" {}", html::badge("info", "test"))
                } else {
                    String::new()
                };
                format!(
                    r#"<tr class="event"><td class="nowrap" data-label="Occurred">{time}</td><td data-label="Event"><a href="/portal/events/{id}">{kind}</a>{test}</td><td data-label="Order"><code>{order}</code></td><td class="nowrap" data-label="Deliveries">{deliveries}</td></tr>"#,
                    time = html::time(e.occurred_at),
                    id = Esc(&e.id),
                    kind = Esc(&e.event_type),
                    order = Esc(&e.order_id),
                    deliveries = deliveries_cell(&e.deliveries),
                )
            })
            .collect();
        body.push_str(&format!(
            r#"<div class="scroll"><table class="stack"><thead><tr><th>Occurred</th><th>Event</th><th>Order</th><th>Deliveries</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        ));
    }
    let shown = found.events.len() as i64;
    let mut pager = format!(
        r#"<span class="muted small">{}–{} of {} (pages reach the newest {})</span>"#,
        if shown == 0 { 0 } else { offset + 1 },
        offset + shown,
        found.total,
        event_log::WINDOW
    );
    if page > 1 {
        pager.push_str(&format!(
            r#" <a href="{}">← Newer</a>"#,
            Esc(&q.href(page - 1))
        ));
    }
    if offset + shown < found.total.min(event_log::WINDOW) {
        pager.push_str(&format!(
            r#" <a href="{}" id="older">Older →</a>"#,
            Esc(&q.href(page + 1))
        ));
    }
    body.push_str(&format!(r#"<div class="pager">{pager}</div>"#));
    body.push_str(&q.retry_all_form(session, found.total));
    Ok(html::ok("Event log", session, Nav::Events, &body))
}

fn attempts_table(attempts: &[&AttemptRow]) -> String {
    if attempts.is_empty() {
        return r#"<p class="muted small">No attempts yet.</p>"#.to_owned();
    }
    let rows: String = attempts
        .iter()
        .map(|a| {
            let outcome = match (&a.error_class, a.http_status) {
                (None, Some(s)) => html::badge("ok", &s.to_string()),
                (None, None) => html::badge("ok", "ok"),
                (Some(_), Some(s)) => html::badge("bad", &s.to_string()),
                (Some(code), None) => html::badge("bad", code),
            };
            format!(
                r#"<tr class="attempt"><td data-label="Attempt">{n}</td><td class="nowrap" data-label="Started">{time}</td><td data-label="Trigger">{trigger}</td><td data-label="Result">{outcome}</td><td class="nowrap" data-label="Latency">{latency} ms</td><td class="small" data-label="Error">{error}</td><td class="small" data-label="Response"><code>{excerpt}</code></td></tr>"#,
                n = a.attempt_number,
                time = html::time(a.started_at),
                trigger = Esc(&a.trigger),
                latency = a.latency_ms,
                error = Esc(a.error_detail.as_deref().unwrap_or("")),
                excerpt = Esc(a.response_excerpt.as_deref().unwrap_or("")),
            )
        })
        .collect();
    format!(
        r#"<div class="scroll"><table class="stack"><thead><tr><th>#</th><th>Started</th><th>Trigger</th><th>Result</th><th>Latency</th><th>Error</th><th>Response</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

/// Where a delivery went; a deleted endpoint is marked so.
fn endpoint_label(d: &DeliveryRow) -> String {
    if d.endpoint_deleted {
        format!(
            "{} {}",
            Esc(&d.endpoint_url),
            html::badge("warn", "deleted endpoint")
        )
    } else {
        Esc(&d.endpoint_url).to_string()
    }
}

/// `GET /portal/events/{id}`.
pub async fn detail(
    state: web::Data<AppState>,
    signed: SignedIn,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PortalError> {
    let session = &signed.session;
    let client = state.pool.get().await?;
    let detail = event_log::detail(&**client, signed.partner(), &id)
        .await?
        .ok_or_else(|| Problem::not_found("event", id.as_str()))?;
    let e = &detail.event;
    let mut deliveries = String::new();
    for d in &e.deliveries {
        let attempts: Vec<&AttemptRow> = detail
            .attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .collect();
        let status = d.status.as_str();
        let retry = if matches!(status, "dead" | "retrying") {
            format!(
                r#"<form method="post" action="/portal/deliveries/{}/retry" class="inline">{}<input type="hidden" name="event" value="{}"><button class="retry">Retry now</button></form>"#,
                d.id,
                csrf_field(session),
                Esc(&e.id)
            )
        } else {
            String::new()
        };
        let next = match d.next_attempt_at {
            Some(t) => format!(
                r#"<div class="small muted">Next attempt {}</div>"#,
                html::time(t)
            ),
            None => String::new(),
        };
        let last_error = match &d.last_error {
            Some(err) if status != "delivered" => {
                format!(r#"<div class="small">Last error: {}</div>"#, Esc(err))
            }
            _ => String::new(),
        };
        deliveries.push_str(&format!(
            r#"<div class="card delivery" id="delivery-{id}"><div><span class="status">{badge}</span> to <strong>{url}</strong></div>{next}{last_error}
{retry}<h3 class="small muted">Attempts</h3>{attempts}{payload}</div>"#,
            id = d.id,
            payload = payload_block(&detail.data, d.schema_version)?,
            badge = html::status_badge(status),
            url = endpoint_label(d),
            attempts = attempts_table(&attempts),
        ));
    }
    if e.deliveries.is_empty() {
        deliveries = html::notice("info", "No endpoint takes this event type.");
        deliveries.push_str(&payload_block(&detail.data, SchemaVersion::V2)?);
    }
    let test = if e.is_test {
        html::badge("info", "test")
    } else {
        String::new()
    };
    let body = format!(
        r#"<h1>{kind} {test}</h1>{notice}
<div class="card"><div class="grid">
<div><span>Event id</span><code>{id}</code></div>
<div><span>Order</span><code>{order}</code></div>
<div><span>Occurred</span>{occurred}</div>
<div><span>Received</span>{ingested}</div>
</div></div>
<h2>Deliveries</h2>{deliveries}
<p><a href="/portal/events">Back to the event log</a></p>"#,
        kind = Esc(&e.event_type),
        notice = query.html(),
        id = Esc(&e.id),
        order = Esc(&e.order_id),
        occurred = html::time(e.occurred_at),
        ingested = html::time(e.ingested_at),
    );
    Ok(html::ok("Event", session, Nav::Events, &body))
}

/// `POST /portal/deliveries/{id}/retry`.
pub async fn retry(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let delivery_id: i64 = id
        .parse()
        .map_err(|_| Problem::not_found("delivery", id.as_str()))?;
    let client = state.pool.get().await?;
    let outcome = retries::retry_one(&**client, posted.signed.partner(), delivery_id).await?;
    let notice = match outcome {
        retries::RetryOne::NotFound => {
            return Err(Problem::not_found("delivery", id.as_str()).into())
        }
        retries::RetryOne::AlreadyDelivered => "delivered",
        retries::RetryOne::EndpointDisabled { endpoint_id } => {
            return Err(crate::http::retries::disabled(&endpoint_id).into())
        }
        retries::RetryOne::Queued { endpoint_id } => {
            notify(&state, [endpoint_id]);
            "retry"
        }
    };
    let event = posted.form.get("event");
    let location = if event.is_empty() {
        format!("/portal/events?notice={notice}")
    } else {
        format!(
            "/portal/events/{}?notice={notice}",
            html::query_value(event)
        )
    };
    Ok(html::see_other(&location))
}

/// `POST /portal/deliveries/retry`: retries every failed delivery of the
/// partner that the log's filters match, then shows the log again.
pub async fn retry_matching(
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let form = &posted.form;
    let q = LogQuery {
        event_type: form.get("event_type").to_owned(),
        status: form.get("status").to_owned(),
        from: form.get("from").to_owned(),
        to: form.get("to").to_owned(),
        ..LogQuery::default()
    };
    let statuses = match q.status.as_str() {
        s @ ("failed" | "dead" | "retrying") => event_log::statuses_of(s).unwrap_or(&[]),
        _ => {
            return Err(Problem::invalid(
                "status",
                "one of failed, dead, retrying (delivered ones are not retried)",
            )
            .into())
        }
    };
    let filter = q
        .filter()
        .map_err(|message| Problem::invalid("filter", message))?;
    let client = state.pool.get().await?;
    let queued = retries::retry_matching(
        &**client,
        posted.signed.partner(),
        &retries::RetryFilter {
            statuses,
            event_type: filter.event_type,
            endpoint_id: None,
            from: filter.from,
            to: filter.to,
        },
    )
    .await?;
    let count = queued.len();
    let endpoints: std::collections::BTreeSet<String> = queued.into_iter().collect();
    notify(&state, endpoints);
    // Back to the same filtered log, status included, saying how many went.
    Ok(html::see_other(&format!(
        "/portal/events?event_type={}&status={}&from={}&to={}&notice=retried&queued={count}",
        html::query_value(&q.event_type),
        html::query_value(&q.status),
        html::query_value(&q.from),
        html::query_value(&q.to),
    )))
}
