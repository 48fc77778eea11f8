//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::actors::router::CountEndpoints;

/// Mounts `/health/live` and `/health/ready`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

/// The process answers.
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The store answers and the router runs.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = match state.pool.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    let endpoints = state.router.send(CountEndpoints).await.ok();
    let ok = database && endpoints.is_some();
    let body = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": if database { "ok" } else { "unavailable" },
        "endpoint_actors": endpoints,
    });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
