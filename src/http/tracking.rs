//! The built-in tracking toggle, for partners and for operators.
//!
//! - `GET /tracking`, `PUT /tracking` (partner)
//! - `GET /partners/{id}/tracking`, `PUT /partners/{id}/tracking` (operators)
//!
//! On, ingest keeps each new order's status and timeline and gives it a
//! public tracking page; off, new events add nothing and the pages answer
//! 404, while the orders and their history stay on the dashboard. Ingest
//! reads the setting in every batch's transaction, so a change applies from
//! the next batch, with no restart.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{Operator, Partner};
use super::body::Json;
use super::problem::Problem;
use super::AppState;
use crate::store::tracking;

/// Mounts the routes (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tracking", web::get().to(get_own))
        .route("/tracking", web::put().to(set_own))
        .route("/partners/{id}/tracking", web::get().to(get_for))
        .route("/partners/{id}/tracking", web::put().to(set_for));
}

/// The setting to apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingIn {
    /// Whether built-in tracking is on.
    pub enabled: bool,
}

/// A partner's setting.
#[derive(Debug, Serialize)]
pub struct TrackingOut {
    /// The partner.
    pub partner_id: String,
    /// Whether built-in tracking is on.
    pub enabled: bool,
}

async fn read(state: &AppState, partner_id: &str) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let enabled = tracking::enabled(&**client, partner_id)
        .await?
        .ok_or_else(|| Problem::not_found("partner", partner_id))?;
    Ok(HttpResponse::Ok().json(TrackingOut {
        partner_id: partner_id.to_owned(),
        enabled,
    }))
}

async fn write(
    state: &AppState,
    partner_id: &str,
    body: TrackingIn,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let enabled = tracking::set_enabled(&**client, partner_id, body.enabled)
        .await?
        .ok_or_else(|| Problem::not_found("partner", partner_id))?;
    tracing::info!(partner = partner_id, enabled, "built-in tracking set");
    Ok(HttpResponse::Ok().json(TrackingOut {
        partner_id: partner_id.to_owned(),
        enabled,
    }))
}

async fn get_own(caller: Partner, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    read(&state, &caller.id).await
}

async fn set_own(
    caller: Partner,
    state: web::Data<AppState>,
    Json(body): Json<TrackingIn>,
) -> Result<HttpResponse, Problem> {
    write(&state, &caller.id, body).await
}

async fn get_for(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    read(&state, &id).await
}

async fn set_for(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Json(body): Json<TrackingIn>,
) -> Result<HttpResponse, Problem> {
    write(&state, &id, body).await
}
