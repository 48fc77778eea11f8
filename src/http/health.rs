//! Liveness and readiness.

use std::time::Duration;

use actix_web::{guard, web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::actors::router::{CountEndpoints, CountShards};

/// How long readiness waits for each dependency; below the 1 s a probe
/// typically allows, so a slow dependency reads as unavailable, not as a
/// probe timeout without a body.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

/// Mounts `/health/live` and `/health/ready`, for GET and HEAD alike (load
/// balancers probe with HEAD).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.route("/health/live", get_or_head().to(live))
        .route("/health/ready", get_or_head().to(ready));
}

/// The process answers.
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The store answers, the Kafka cluster answers, the router runs and this
/// process owns shards to deliver for. A 503 names what failed in `failed`.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = async {
        let client = state.pool.get().await.ok()?;
        client.simple_query("SELECT 1").await.ok().map(|_| ())
    };
    let database = tokio::time::timeout(CHECK_TIMEOUT, database);
    let (database, kafka, endpoints, shards) = tokio::join!(
        database,
        state.broker.check(),
        state.router.send(CountEndpoints),
        state.router.send(CountShards)
    );
    let database = matches!(database, Ok(Some(())));
    let endpoints = endpoints.ok();
    let shards = shards.ok();
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
    // Right after a start the leases are still being sorted out: the
    // process answers but delivers for no endpoint yet.
    if shards.is_some_and(|s| s.owned == 0) {
        failed.push("shards");
    }
    let status = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": status(failed.is_empty()),
        "database": status(database),
        "kafka": status(kafka.is_ok()),
        "kafka_error": kafka.as_ref().err().map(ToString::to_string),
        "endpoint_actors": endpoints,
        "shards": shards,
        "failed": failed,
    });
    if failed.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
