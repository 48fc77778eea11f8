//! The endpoints pages.
//!
//! - `GET /portal/endpoints`: the list and the form to add one.
//! - `POST /portal/endpoints`: add; the signing secret is shown this once.
//! - `GET /portal/endpoints/{id}`: details, test event, edit, rotate, delete.
//! - `POST /portal/endpoints/{id}`: edit.
//! - `POST /portal/endpoints/{id}/rotate-secret`, `POST /portal/endpoints/{id}/delete`.
//!
//! Validation is the API's (same functions), so the two cannot disagree.

mod form;
mod view;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::error::PortalError;
use super::html::{self, csrf_field, Esc, Nav};
use super::session::{Posted, SignedIn};
use crate::http::endpoints::DEFAULT_GRACE;
use crate::http::problem::Problem;
use crate::http::AppState;
use crate::store::endpoints::{self as store, Endpoint};
use crate::store::health;
use form::{apply, fields, form_error, insert, status_of, Values};
use view::{disabled_notice, health_line, secret_box, signing_line, status_badge};

pub use view::{test_form, NoticeQuery};

/// The list page, with `values` in the add form and `error` above it.
async fn list_page(
    state: &AppState,
    signed: &SignedIn,
    values: &Values,
    notice: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PortalError> {
    let session = &signed.session;
    let client = state.pool.get().await?;
    let list = store::list_for_partner(&**client, signed.partner()).await?;
    let health = health::list(&**client, Some(signed.partner())).await?;
    let mut body = format!("<h1>Endpoints</h1>{notice}");
    if list.is_empty() {
        body.push_str(&html::notice(
            "info",
            "No endpoints yet. Add the URL that should receive order events, then send it a test event.",
        ));
    }
    for e in &list {
        // Lifecycle order, as the API lists them.
        let mut types = e.event_types.clone();
        types.sort();
        let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        let enabled = status_badge(e);
        body.push_str(&format!(
            r#"<div class="card endpoint"><div><a href="/portal/endpoints/{id}"><strong>{url}</strong></a> {enabled}</div>
<div class="muted small">{description}</div>
<div class="small">{types}</div><div>{health}</div></div>"#,
            id = Esc(&e.id),
            url = Esc(&e.url),
            description = Esc(&e.description),
            types = Esc(&types.join(", ")),
            health = health_line(health.get(&e.id)),
        ));
    }
    body.push_str(r#"<h2 id="add">Add an endpoint</h2>"#);
    if let Some(error) = error {
        body.push_str(&html::notice("bad", error));
    }
    if list.len() >= store::MAX_PER_PARTNER {
        body.push_str(&html::notice(
            "warn",
            &format!(
                "You have {} endpoints, the most an account can have. Delete one to add another.",
                store::MAX_PER_PARTNER
            ),
        ));
    } else {
        body.push_str(&format!(
            r#"<div class="card"><form method="post" action="/portal/endpoints">{}{}<button id="create">Add endpoint</button></form>
<p class="muted small">https is required. You get a signing secret to verify each request's <code>webhook-signature</code> header.</p></div>"#,
            csrf_field(session),
            fields(values, true, &state.api.lifecycle)
        ));
    }
    Ok(html::page(
        status,
        "Endpoints",
        Some(session),
        Nav::Endpoints,
        &body,
    ))
}

/// `GET /portal/endpoints`.
pub async fn list(
    state: web::Data<AppState>,
    signed: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PortalError> {
    list_page(
        &state,
        &signed,
        &Values::fresh(),
        &query.html(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/endpoints`.
pub async fn create(
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let Posted { signed, form } = posted;
    let values = Values::from_form(&form);
    let (endpoint, secret) = match insert(&state, signed.partner(), &values).await {
        Ok(created) => created,
        Err(e) => {
            let Some(message) = form_error(&e) else {
                return Err(e);
            };
            return list_page(&state, &signed, &values, "", Some(&message), status_of(&e)).await;
        }
    };
    let session = &signed.session;
    let body = format!(
        r#"<h1>Endpoint added</h1>{}
<div class="card"><p><strong>{url}</strong></p>{}</div>
<h2>Next: send a test event</h2><div class="card">{}</div>
<p><a href="/portal/endpoints/{id}">Manage this endpoint</a> · <a href="/portal/endpoints">All endpoints</a></p>"#,
        html::notice(
            "ok",
            "The endpoint is registered and receives events from now on."
        ),
        secret_box(&secret),
        test_form(session, &endpoint),
        url = Esc(&endpoint.url),
        id = Esc(&endpoint.id),
    );
    Ok(html::page(
        StatusCode::CREATED,
        "Endpoint added",
        Some(session),
        Nav::Endpoints,
        &body,
    ))
}

async fn owned(state: &AppState, signed: &SignedIn, id: &str) -> Result<Endpoint, PortalError> {
    let client = state.pool.get().await?;
    store::get_for_partner(&**client, signed.partner(), id)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", id).into())
}

/// The endpoint's page, with `values` in the edit form and `error` above it.
async fn detail_page(
    state: &AppState,
    signed: &SignedIn,
    e: &Endpoint,
    values: &Values,
    notice: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PortalError> {
    let session = &signed.session;
    let client = state.pool.get().await?;
    let health = health::get(&**client, &e.id).await?;
    let enabled = status_badge(e);
    let disabled = disabled_notice(e);
    let error = error.map(|m| html::notice("bad", m)).unwrap_or_default();
    let body = format!(
        r#"<h1 class="scroll">{url}</h1>{notice}{disabled}
<div class="card"><div class="grid">
<div><span>Status</span>{enabled}</div>
<div><span>Id</span><code>{id}</code></div>
<div><span>Payload schema</span>{schema}</div>
<div><span>Signatures</span>{signing}</div>
<div><span>Health</span>{health} <a class="small" href="/portal/health#{id}">chart</a></div>
</div></div>
<h2>Send a test event</h2><div class="card">{test}</div>
<h2 id="edit">Edit</h2>{error}<div class="card"><form method="post" action="/portal/endpoints/{id}">{csrf}{fields}<button id="save">Save</button></form></div>
<h2>Rotate the signing secret</h2><div class="card"><form method="post" action="/portal/endpoints/{id}/rotate-secret">{csrf}
<label for="grace">The old secret keeps signing for</label><select id="grace" name="grace_period_secs">
<option value="{day}" selected>1 day</option><option value="3600">1 hour</option><option value="604800">7 days</option><option value="0">no time: stop now</option></select>
<button class="secondary" id="rotate">Rotate secret</button></form>
<p class="muted small">During the grace period each request carries both signatures, so your receiver can switch without dropping one.</p></div>
<h2>Delete</h2><div class="card"><form method="post" action="/portal/endpoints/{id}/delete">{csrf}
<div class="checks"><label><input type="checkbox" name="confirm" value="1" required> Delete this endpoint; deliveries still waiting are given up (the event log keeps every delivery and attempt)</label></div>
<button class="danger" id="delete">Delete endpoint</button></form></div>"#,
        url = Esc(&e.url),
        id = Esc(&e.id),
        schema = e.schema_version.as_str(),
        signing = signing_line(e),
        health = health_line(health.as_ref()),
        test = test_form(session, e),
        csrf = csrf_field(session),
        fields = fields(values, false, &state.api.lifecycle),
        day = DEFAULT_GRACE.as_secs(),
    );
    Ok(html::page(
        status,
        "Endpoint",
        Some(session),
        Nav::Endpoints,
        &body,
    ))
}

/// `GET /portal/endpoints/{id}`.
pub async fn detail(
    state: web::Data<AppState>,
    signed: SignedIn,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PortalError> {
    let e = owned(&state, &signed, &id).await?;
    detail_page(
        &state,
        &signed,
        &e,
        &Values::of(&e),
        &query.html(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/endpoints/{id}`.
pub async fn update(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let Posted { signed, form } = posted;
    let values = Values::from_form(&form);
    match apply(&state, signed.partner(), &id, &values).await {
        Ok(()) => Ok(html::see_other(&format!(
            "/portal/endpoints/{}?notice=updated",
            html::query_value(&id)
        ))),
        Err(e) => {
            let Some(message) = form_error(&e) else {
                return Err(e);
            };
            let endpoint = owned(&state, &signed, &id).await?;
            detail_page(
                &state,
                &signed,
                &endpoint,
                &values,
                "",
                Some(&message),
                status_of(&e),
            )
            .await
        }
    }
}

/// `POST /portal/endpoints/{id}/delete`.
pub async fn delete(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    if !posted.form.checked("confirm") {
        return Err(Problem::invalid("confirm", "tick the box to confirm the deletion").into());
    }
    let client = state.pool.get().await?;
    if !store::delete(&**client, posted.signed.partner(), &id).await? {
        return Err(Problem::not_found("endpoint", id.as_str()).into());
    }
    Ok(html::see_other("/portal/endpoints?notice=deleted"))
}

/// `POST /portal/endpoints/{id}/rotate-secret`.
pub async fn rotate(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let grace = match posted.form.get("grace_period_secs") {
        "" => DEFAULT_GRACE,
        s => match s.parse::<u64>() {
            Ok(n) if n <= 7 * 24 * 3600 => Duration::from_secs(n),
            _ => {
                return Err(Problem::invalid("grace_period_secs", "at most 604800 (a week)").into())
            }
        },
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let secret = store::rotate_secret(&*tx, posted.signed.partner(), &id, grace)
        .await?
        .ok_or_else(|| Problem::not_found("endpoint", id.as_str()))?;
    tx.commit().await?;
    let hours = grace.as_secs() as f64 / 3600.0;
    let body = format!(
        r#"<h1>Secret rotated</h1><div class="card">{}<p class="muted small">The previous secret keeps signing for {hours:.0} h.</p></div>
<p><a href="/portal/endpoints/{}">Back to the endpoint</a></p>"#,
        secret_box(&secret),
        Esc(&id)
    );
    Ok(html::ok(
        "Secret rotated",
        &posted.signed.session,
        Nav::Endpoints,
        &body,
    ))
}
