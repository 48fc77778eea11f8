//! The merchant's SMS templates in the portal.
//!
//! - `GET /portal/sms`: one form per event type: on or off, the text with
//!   its variables, the registered DLT text and ids, and a live preview on
//!   example values with its characters, encoding and SMS parts
//!   (`/portal/static/sms.js`, counting with the server's own alphabet).
//! - `POST /portal/sms/{event_type}`: saves one type through the API's own
//!   check, so the portal and the API cannot disagree; a refusal (a text
//!   that differs from its DLT text, a malformed id) comes back as the same
//!   page with the error on that form, naming the field, and nothing typed
//!   lost.

mod view;

use std::str::FromStr;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::PortalError;
use super::html::{self, Nav};
use super::session::{FormData, Posted, SignedIn};
use crate::http::problem::Problem;
use crate::http::sms_templates::{self, TemplateIn};
use crate::http::AppState;
use crate::schema::EventType;
use crate::sms::Template;
use crate::store::tracking;

pub use view::Form;

/// A notice after a save.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// The event type just saved.
    pub saved: Option<String>,
}

/// The forms of a partner, as stored (a type never saved shows the
/// default, off).
async fn stored_forms(state: &AppState, partner: &str) -> Result<Vec<Form>, PortalError> {
    let client = state.pool.get().await?;
    let all = sms_templates::all_templates(&**client, partner).await?;
    Ok(all
        .into_iter()
        .map(|(template, saved)| Form {
            template,
            saved,
            error: None,
        })
        .collect())
}

/// Whether the partner's built-in tracking is on (SMS go only then).
async fn tracking_on(state: &AppState, partner: &str) -> Result<bool, PortalError> {
    let client = state.pool.get().await?;
    Ok(tracking::enabled(&**client, partner)
        .await?
        .unwrap_or(false))
}

/// The page with `forms`, answered with `status`.
async fn render(
    state: &AppState,
    signed: &SignedIn,
    forms: &[Form],
    notice: &str,
    status: StatusCode,
) -> Result<HttpResponse, PortalError> {
    let on = tracking_on(state, signed.partner()).await?;
    let body = view::page(forms, &signed.session, notice, on);
    let page = html::page(
        status,
        "SMS templates",
        Some(&signed.session),
        Nav::Sms,
        &body,
    );
    Ok(html::with_own_script(page))
}

/// The page.
pub async fn page(
    state: web::Data<AppState>,
    signed: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PortalError> {
    let forms = stored_forms(&state, signed.partner()).await?;
    let notice = match query
        .saved
        .as_deref()
        .and_then(|t| EventType::from_str(t).ok())
    {
        Some(t) => html::notice(
            "ok",
            &format!(
                "Saved the SMS for \u{201c}{}\u{201d}.",
                crate::http::tracking_page::label(t)
            ),
        ),
        None => String::new(),
    };
    render(&state, &signed, &forms, &notice, StatusCode::OK).await
}

/// What the form of `event_type` posted, as a template (checked on save).
fn posted_template(event_type: EventType, form: &FormData) -> Template {
    Template {
        event_type,
        enabled: form.checked("enabled"),
        text: form.raw("text"),
        dlt_text: form.raw("dlt_text"),
        dlt_template_id: form.get("dlt_template_id").to_owned(),
        sender_header: form.get("sender_header").to_owned(),
        entity_id: form.get("entity_id").to_owned(),
    }
}

/// Saves one type; a refusal redraws the page with the error on its form.
pub async fn save(
    state: web::Data<AppState>,
    posted: Posted,
    event_type: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let ty = EventType::from_str(&event_type)
        .map_err(|_| Problem::not_found("SMS type", event_type.as_str()))?;
    let template = posted_template(ty, &posted.form);
    let body = TemplateIn {
        enabled: template.enabled,
        text: template.text.clone(),
        dlt_text: template.dlt_text.clone(),
        dlt_template_id: template.dlt_template_id.clone(),
        sender_header: template.sender_header.clone(),
        entity_id: template.entity_id.clone(),
    };
    let partner = posted.signed.partner().to_owned();
    match sms_templates::save(&state, &partner, ty.as_str(), body).await {
        Ok(_) => Ok(html::see_other(&format!(
            "/portal/sms?saved={ty}#{ty}",
            ty = ty.as_str()
        ))),
        Err(Problem::InvalidField { field, message }) => {
            let mut forms = stored_forms(&state, &partner).await?;
            if let Some(form) = forms.iter_mut().find(|f| f.template.event_type == ty) {
                *form = Form {
                    template,
                    saved: form.saved,
                    error: Some((field, message)),
                };
            }
            let notice = html::notice(
                "bad",
                "Not saved: see the message on the form below. Nothing you typed was lost.",
            );
            render(
                &state,
                &posted.signed,
                &forms,
                &notice,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// The live preview's script.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("sms.js"))
}
