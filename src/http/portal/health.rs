//! `GET /portal/health`: per endpoint, the ACK rate, last success and
//! failure, breaker state and at-risk flag as the endpoint's actor recorded
//! them, and a chart of the last 24 hours computed from the attempts.

use actix_web::{web, HttpResponse};
use chrono::Utc;

use super::chart;
use super::error::PortalError;
use super::html::{self, Esc, Nav};
use super::session::SignedIn;
use crate::http::endpoint_health::{day_start, HealthOut};
use crate::http::AppState;
use crate::store::{endpoints, health};

/// The page.
pub async fn page(
    state: web::Data<AppState>,
    signed: SignedIn,
) -> Result<HttpResponse, PortalError> {
    let client = state.pool.get().await?;
    let list = endpoints::list_for_partner(&**client, signed.partner()).await?;
    let mut stored = health::list(&**client, Some(signed.partner())).await?;
    let start = day_start(Utc::now());
    let hourly = health::hourly_outcomes(&**client, signed.partner(), start).await?;
    let mut body = String::from("<h1>Endpoint health</h1>");
    if list.is_empty() {
        body.push_str(&html::notice(
            "info",
            "No endpoints yet: add one on the Endpoints page.",
        ));
    }
    for e in &list {
        let h = stored
            .remove(&e.id)
            .map_or_else(HealthOut::unknown, HealthOut::from);
        let hours: Vec<_> = hourly
            .iter()
            .filter(|(id, _)| *id == e.id)
            .map(|(_, h)| *h)
            .collect();
        let rate = h.ack_rate.map_or_else(
            || "—".to_owned(),
            |r| {
                format!(
                    "{:.1}% <span class=\"muted small\">({} of {})</span>",
                    r * 100.0,
                    h.window_acked,
                    h.window_attempts
                )
            },
        );
        let breaker = match h.breaker_state.as_str() {
            "closed" => html::badge("ok", "closed"),
            "open" => html::badge("bad", "open"),
            other => html::badge("warn", other),
        };
        let risk = if h.at_risk {
            format!(
                r#"<p class="notice bad"><strong>At risk</strong> since {}: {}</p>"#,
                html::time_or_dash(h.at_risk_since),
                Esc(h.at_risk_reason.as_deref().unwrap_or("")),
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            r#"<div class="card health" id="{id}"><div><a href="/portal/endpoints/{id}"><strong>{url}</strong></a></div>{risk}
<div class="grid">
<div><span>ACK rate (rolling)</span>{rate}</div>
<div><span>Circuit breaker</span>{breaker}</div>
<div><span>Last success</span>{success}</div>
<div><span>Last failure</span>{failure}</div>
</div>
{chart}
<div class="legend"><span><i style="background:{acked}"></i>acknowledged</span><span><i style="background:{rejected}"></i>error status</span><span><i style="background:{unanswered}"></i>no answer</span><span><i style="background:{rate_colour}"></i>ACK rate per hour</span></div>
</div>"#,
            id = Esc(&e.id),
            url = Esc(&e.url),
            success = html::time_or_dash(h.last_success_at),
            failure = html::time_or_dash(h.last_failure_at),
            chart = chart::day_chart(&e.url, start, &hours),
            acked = chart::ACKED,
            rejected = chart::REJECTED,
            unanswered = chart::UNANSWERED,
            rate_colour = chart::RATE,
        ));
    }
    body.push_str(r#"<p class="muted small">Times in UTC. The chart counts every attempt of the last 24 hours, per hour; the ACK rate above is the rolling rate the delivery engine acts on.</p>"#);
    Ok(html::ok("Health", &signed.session, Nav::Health, &body))
}
