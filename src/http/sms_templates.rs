//! A partner's SMS templates, one per event type.
//!
//! - `GET /sms/templates`, `PUT /sms/templates/{event_type}` (partner)
//! - `GET /partners/{id}/sms/templates`,
//!   `PUT /partners/{id}/sms/templates/{event_type}` (operators)
//!
//! A type without a saved template lists trackwire's default text, unsaved
//! and off: no SMS goes before the merchant has registered it on DLT and
//! saved its ids. Saving refuses (422, naming the field) a text whose fixed
//! part differs from the registered DLT text.

use std::str::FromStr;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{Operator, Partner};
use super::body::Json;
use super::problem::Problem;
use super::AppState;
use crate::schema::EventType;
use crate::sms::parts;
use crate::sms::template::{default_text, dlt_text_of, sample_values, Template};
use crate::store::{self, sms as outbox};

/// Mounts the routes (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sms/templates", web::get().to(list_own))
        .route("/sms/templates/{event_type}", web::put().to(save_own))
        .route("/partners/{id}/sms/templates", web::get().to(list_for))
        .route(
            "/partners/{id}/sms/templates/{event_type}",
            web::put().to(save_for),
        );
}

/// A template to save.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// Whether this type is sent.
    pub enabled: bool,
    /// The text with `{variable}`s.
    pub text: String,
    /// The registered DLT text, variables as `{#var#}`.
    pub dlt_text: String,
    /// DLT content template id.
    pub dlt_template_id: String,
    /// Registered sender header.
    pub sender_header: String,
    /// DLT principal entity id.
    pub entity_id: String,
}

/// A template as listed, with a preview on example values.
#[derive(Debug, Serialize)]
pub struct TemplateOut {
    /// The event type.
    pub event_type: &'static str,
    /// Whether this type is sent.
    pub enabled: bool,
    /// False for trackwire's default, not yet saved.
    pub saved: bool,
    /// The text.
    pub text: String,
    /// The registered DLT text.
    pub dlt_text: String,
    /// DLT content template id.
    pub dlt_template_id: String,
    /// Sender header.
    pub sender_header: String,
    /// Principal entity id.
    pub entity_id: String,
    /// The text on example values.
    pub preview: String,
    /// `GSM-7` or `UCS-2`.
    pub encoding: &'static str,
    /// Characters of the preview, in its encoding's units.
    pub characters: usize,
    /// SMS parts of the preview.
    pub parts: usize,
}

impl TemplateOut {
    fn new(t: Template, saved: bool) -> Self {
        let preview = t.render(&sample_values()).unwrap_or_default();
        let size = parts::count(&preview);
        TemplateOut {
            event_type: t.event_type.as_str(),
            enabled: t.enabled,
            saved,
            text: t.text,
            dlt_text: t.dlt_text,
            dlt_template_id: t.dlt_template_id,
            sender_header: t.sender_header,
            entity_id: t.entity_id,
            preview,
            encoding: size.encoding.as_str(),
            characters: size.units,
            parts: size.count,
        }
    }
}

/// The default of `event_type`, unsaved and off.
pub fn default_template(event_type: EventType) -> Template {
    let text = default_text(event_type);
    Template {
        event_type,
        enabled: false,
        text: text.to_owned(),
        dlt_text: dlt_text_of(text).unwrap_or_default(),
        dlt_template_id: String::new(),
        sender_header: String::new(),
        entity_id: String::new(),
    }
}

/// All six of a partner's templates, saved or default, in lifecycle order.
pub async fn all_templates(
    client: &impl tokio_postgres::GenericClient,
    partner_id: &str,
) -> Result<Vec<(Template, bool)>, store::StoreError> {
    let saved = outbox::templates(client, partner_id).await?;
    Ok(EventType::ALL
        .into_iter()
        .map(|ty| match saved.iter().find(|t| t.event_type == ty) {
            Some(t) => (t.clone(), true),
            None => (default_template(ty), false),
        })
        .collect())
}

async fn list(state: &AppState, partner_id: &str) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    if crate::store::tracking::enabled(&**client, partner_id)
        .await?
        .is_none()
    {
        return Err(Problem::not_found("partner", partner_id));
    }
    let out: Vec<TemplateOut> = all_templates(&**client, partner_id)
        .await?
        .into_iter()
        .map(|(t, saved)| TemplateOut::new(t, saved))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "data": out })))
}

/// Checks and saves one template; the answer is the template as listed.
pub async fn save(
    state: &AppState,
    partner_id: &str,
    event_type: &str,
    body: TemplateIn,
) -> Result<Template, Problem> {
    let event_type = EventType::from_str(event_type)
        .map_err(|_| Problem::invalid("event_type", "must be one of the six event types"))?;
    let template = Template {
        event_type,
        enabled: body.enabled,
        text: body.text,
        dlt_text: body.dlt_text,
        dlt_template_id: body.dlt_template_id.trim().to_owned(),
        sender_header: body.sender_header.trim().to_owned(),
        entity_id: body.entity_id.trim().to_owned(),
    };
    template
        .validate()
        .map_err(|e| Problem::invalid(e.field(), e.to_string()))?;
    let client = state.pool.get().await?;
    outbox::save_template(&**client, partner_id, &template)
        .await
        .map_err(|e| match e {
            store::StoreError::UnknownPartner(id) => Problem::not_found("partner", id),
            other => other.into(),
        })?;
    tracing::info!(
        partner = partner_id,
        event_type = event_type.as_str(),
        enabled = template.enabled,
        "SMS template saved"
    );
    Ok(template)
}

async fn list_own(caller: Partner, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    list(&state, &caller.id).await
}

async fn save_own(
    caller: Partner,
    state: web::Data<AppState>,
    ty: web::Path<String>,
    Json(body): Json<TemplateIn>,
) -> Result<HttpResponse, Problem> {
    let t = save(&state, &caller.id, &ty, body).await?;
    Ok(HttpResponse::Ok().json(TemplateOut::new(t, true)))
}

async fn list_for(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    list(&state, &id).await
}

async fn save_for(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Json(body): Json<TemplateIn>,
) -> Result<HttpResponse, Problem> {
    let (id, ty) = path.into_inner();
    let t = save(&state, &id, &ty, body).await?;
    Ok(HttpResponse::Ok().json(TemplateOut::new(t, true)))
}
