//! `GET /api/v1/openapi.json`: the OpenAPI 3 description of the admin API,
//! kept in the repository as `openapi.json` and compiled in.

use actix_web::{web, HttpResponse};

/// The spec.
pub const SPEC: &str = include_str!("../../openapi.json");

/// Mounts the route (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(spec));
}

async fn spec() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(SPEC)
}
