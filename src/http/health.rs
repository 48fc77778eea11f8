//! Liveness and readiness.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::actors::router::CountEndpoints;

/// How long readiness waits for each dependency; below the 1 s a probe
/// typically allows, so a slow dependency reads as unavailable, not as a
/// probe timeout without a body.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

/// Mounts `/health/live` and `/health/ready`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

/// The process answers.
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The store answers, the Kafka cluster answers and the router runs. A 503
/// names what failed in `failed`.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = async {
        let client = state.pool.get().await.ok()?;
        client.simple_query("SELECT 1").await.ok().map(|_| ())
    };
    let database = tokio::time::timeout(CHECK_TIMEOUT, database);
    let (database, kafka, endpoints) = tokio::join!(
        database,
        state.broker.check(),
        state.router.send(CountEndpoints)
    );
    let database = matches!(database, Ok(Some(())));
    let endpoints = endpoints.ok();
    let mut failed = Vec::new();
    if !database {
        failed.push("database");
    }
    if let Err(error) = &kafka {
        tracing::warn!(%error, "readiness: Kafka unavailable");
        failed.push("kafka");
    }
    if endpoints.is_none() {
        failed.push("router");
    }
    let status = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": status(failed.is_empty()),
        "database": status(database),
        "kafka": status(kafka.is_ok()),
        "kafka_error": kafka.as_ref().err().map(ToString::to_string),
        "endpoint_actors": endpoints,
        "failed": failed,
    });
    if failed.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
