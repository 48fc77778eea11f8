//! Operator routes: partners and their API keys.
//!
//! - `POST /partners`, `GET /partners`, `GET /partners/{id}`
//! - `POST /partners/{id}/suspend`, `POST /partners/{id}/activate`
//! - `POST /partners/{id}/keys`, `GET /partners/{id}/keys`,
//!   `DELETE /partners/{id}/keys/{key_id}`
//! - `POST /partners/{id}/portal-link`: a single-use portal sign-in link

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Operator;
use super::body::Json;
use super::problem::Problem;
use super::AppState;
use crate::store::api_keys::{self, ApiKey};
use crate::store::partners::{self, Partner};
use crate::store::portal;

/// Mounts the routes (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/partners", web::post().to(create))
        .route("/partners", web::get().to(list))
        .route("/partners/{id}", web::get().to(get))
        .route("/partners/{id}/suspend", web::post().to(suspend))
        .route("/partners/{id}/activate", web::post().to(activate))
        .route("/partners/{id}/keys", web::post().to(issue_key))
        .route("/partners/{id}/keys", web::get().to(list_keys))
        .route("/partners/{id}/keys/{key_id}", web::delete().to(revoke_key))
        .route("/partners/{id}/portal-link", web::post().to(portal_link));
}

/// A new partner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerIn {
    /// The id the OMS uses in its `partner_id` column.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A partner.
#[derive(Debug, Serialize)]
pub struct PartnerOut {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<Partner> for PartnerOut {
    fn from(p: Partner) -> Self {
        PartnerOut {
            id: p.id,
            name: p.name,
            status: p.status,
            created_at: p.created_at,
        }
    }
}

/// An API key, without the key.
#[derive(Debug, Serialize)]
pub struct ApiKeyOut {
    /// Key id, for revocation.
    pub id: String,
    /// Its first characters.
    pub prefix: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        ApiKeyOut {
            id: k.id,
            prefix: k.prefix,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just issued: the only time `key` is shown.
#[derive(Debug, Serialize)]
pub struct IssuedKeyOut {
    /// The record.
    #[serde(flatten)]
    pub record: ApiKeyOut,
    /// The key itself, `tw_live_...`; store it now, it cannot be shown again.
    pub key: String,
}

impl PartnerIn {
    /// Checks the fields against what the store accepts, naming the field.
    fn validate(&self) -> Result<(), Problem> {
        let id_ok = {
            let mut chars = self.id.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
                && self.id.len() <= 64
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        };
        if !id_ok {
            return Err(Problem::invalid(
                "id",
                "1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit",
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Problem::invalid("name", "1 to 200 characters"));
        }
        Ok(())
    }
}

async fn create(
    _: Operator,
    state: web::Data<AppState>,
    Json(body): Json<PartnerIn>,
) -> Result<HttpResponse, Problem> {
    body.validate()?;
    let client = state.pool.get().await?;
    let partner = partners::insert(&**client, &body.id, body.name.trim()).await?;
    Ok(HttpResponse::Created().json(PartnerOut::from(partner)))
}

async fn list(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let all: Vec<PartnerOut> = partners::list(&**client)
        .await?
        .into_iter()
        .map(PartnerOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": all })))
}

async fn get(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let partner = partners::get(&**client, &id)
        .await?
        .ok_or_else(|| Problem::not_found("partner", id.as_str()))?;
    Ok(HttpResponse::Ok().json(PartnerOut::from(partner)))
}

async fn set_status(state: &AppState, id: &str, status: &str) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let partner = partners::set_status(&**client, id, status)
        .await?
        .ok_or_else(|| Problem::not_found("partner", id))?;
    Ok(HttpResponse::Ok().json(PartnerOut::from(partner)))
}

/// A suspended partner's deliveries are held (sent on activation, within
/// `delivery.max_age`) and its keys are refused; its data stays.
async fn suspend(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    set_status(&state, &id, "suspended").await
}

async fn activate(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    set_status(&state, &id, "active").await
}

async fn issue_key(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let (record, key) = api_keys::issue(&**client, &id).await?;
    Ok(HttpResponse::Created().json(IssuedKeyOut {
        record: record.into(),
        key,
    }))
}

async fn list_keys(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    if partners::get(&**client, &id).await?.is_none() {
        return Err(Problem::not_found("partner", id.as_str()));
    }
    let keys: Vec<ApiKeyOut> = api_keys::list_for_partner(&**client, &id)
        .await?
        .into_iter()
        .map(ApiKeyOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": keys })))
}

async fn revoke_key(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (partner_id, key_id) = path.into_inner();
    let client = state.pool.get().await?;
    if !api_keys::revoke(&**client, &partner_id, &key_id).await? {
        return Err(Problem::not_found("key", key_id));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Issues a sign-in link for the partner's portal, valid once, for
/// `http.portal_link_ttl`. The absolute URL is built from the request's host
/// (and `Forwarded` / `X-Forwarded-*` headers behind a proxy).
async fn portal_link(
    _: Operator,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let client = state.pool.get().await?;
    let partner = partners::get(&**client, &id)
        .await?
        .ok_or_else(|| Problem::not_found("partner", id.as_str()))?;
    if partner.status != "active" {
        return Err(Problem::Conflict(format!(
            "partner {:?} is suspended; activate it first",
            partner.id
        )));
    }
    let (token, expires_at) =
        portal::issue_link(&**client, &partner.id, state.api.portal_link_ttl).await?;
    let path = format!("/portal/login?token={token}");
    let info = req.connection_info();
    let url = format!("{}://{}{path}", info.scheme(), info.host());
    Ok(HttpResponse::Created().json(serde_json::json!({
        "partner_id": partner.id,
        "url": url,
        "path": path,
        "expires_at": expires_at,
    })))
}
