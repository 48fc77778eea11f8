//! The service's own HTTP surface (actix-web): health checks, the admin
//! API under `/api/v1` and the partner portal under `/portal`.
//!
//! # Layout
//! - `health`: liveness and readiness.
//! - `problem`: every API error as an RFC 7807 document, in one place.
//! - `body`: the JSON body extractor (size limit, field-naming errors).
//! - `query`: query parameters, one rule for every route.
//! - `auth`: operator token and partner API keys as extractors.
//! - one module per resource, each with a `configure`: `partners`,
//!   `endpoints`, `endpoint_health`, `test_events`, `events`, `retries`,
//!   `tracking` (the built-in tracking toggle); `openapi` serves the spec
//!   kept in `openapi.json`.
//! - `portal`: the server-rendered partner portal.
//! - `tracking_page`: the public tracking page of an order, `/track/{token}`.

pub mod auth;
pub mod body;
pub mod endpoint_health;
pub mod endpoints;
pub mod events;
pub mod health;
pub mod openapi;
pub mod partners;
pub mod portal;
pub mod problem;
pub mod query;
pub mod retries;
pub mod sms;
pub mod sms_templates;
pub mod test_events;
pub mod tracking;
pub mod tracking_page;

use std::net::TcpListener;
use std::sync::Arc;

use actix::Addr;
use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpServer};
use deadpool_postgres::Pool;
use futures_util::future::{ready, Either};

use crate::actors::endpoint::{SsrfGuard, WebhookClient};
use crate::actors::router::Router;
use crate::config::Config;
use problem::Problem;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub pool: Pool,
    /// The router: readiness, and telling endpoint actors about retries.
    pub router: Addr<Router>,
    /// The Kafka cluster, for readiness.
    pub broker: crate::kafka::BrokerProbe,
    /// Settings of the admin API.
    pub api: Arc<ApiSettings>,
}

/// Settings of the admin API, taken from the configuration once.
pub struct ApiSettings {
    /// `http.operator_token`; `None` refuses every operator request.
    pub operator_token: Option<String>,
    /// `delivery.allow_insecure_hosts`, for validating endpoint URLs.
    pub allow_insecure_hosts: Vec<String>,
    /// Sends test events.
    pub webhook: WebhookClient,
    /// `delivery.response_excerpt_bytes`, for recording test attempts.
    pub excerpt_bytes: usize,
    /// Schema versions' deprecation, for the headers of test events.
    pub lifecycle: crate::schema::Lifecycle,
    /// `http.portal_link_ttl`: how long a portal sign-in link is valid.
    pub portal_link_ttl: std::time::Duration,
    /// `http.tracking_page_base_url`: where customers open tracking pages.
    pub tracking_pages: crate::store::tracking::TrackingPages,
    /// The statuses and tracking URL that make test events look live.
    pub test_events: crate::schema::LiveShape,
    /// `sms.callback_token`: what Kannel's callbacks must carry.
    pub sms_callback_token: Option<String>,
}

impl ApiSettings {
    /// The settings `config` gives.
    pub fn from_config(config: &Config) -> Self {
        let delivery = &config.delivery;
        ApiSettings {
            operator_token: config.http.operator_token.clone(),
            allow_insecure_hosts: delivery.allow_insecure_hosts.clone(),
            webhook: WebhookClient::new(
                SsrfGuard::new(&delivery.allow_insecure_hosts),
                delivery.connect_timeout,
                delivery.attempt_timeout,
                delivery.response_excerpt_bytes,
            ),
            excerpt_bytes: delivery.response_excerpt_bytes,
            lifecycle: crate::schema::Lifecycle::new(config.schema.v2_released),
            portal_link_ttl: config.http.portal_link_ttl,
            tracking_pages: config.http.tracking_pages(),
            test_events: live_shape(config),
            sms_callback_token: config.sms.callback_token.clone(),
        }
    }
}

/// What live events look like under `config`: `[cdc.status_map]` and
/// `schema.tracking_url_template`, both validated at load.
fn live_shape(config: &Config) -> crate::schema::LiveShape {
    use std::str::FromStr;
    let statuses = config.cdc.status_map.iter().filter_map(|(status, ty)| {
        crate::schema::EventType::from_str(ty)
            .ok()
            .map(|t| (status.as_str(), t))
    });
    let tracking_url = config
        .schema
        .tracking_url_template
        .as_deref()
        .and_then(|t| crate::schema::TrackingUrlTemplate::parse(t).ok());
    crate::schema::LiveShape::new(statuses, tracking_url)
}

/// Mounts the admin API under `/api/v1`. Unknown routes and bad query
/// strings answer problem documents too.
pub fn api_v1(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .wrap_fn(|req, srv| match query::refuse_unexpected(req.request()) {
                Some(problem) => {
                    let refused = req.error_response(problem).map_into_right_body();
                    Either::Left(ready(Ok(refused)))
                }
                None => {
                    let call = srv.call(req);
                    Either::Right(async move { call.await.map(|r| r.map_into_left_body()) })
                }
            })
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _| Problem::not_found("resource", err.to_string()).into()),
            )
            .configure(openapi::configure)
            .configure(partners::configure)
            .configure(endpoints::configure)
            .configure(endpoint_health::configure)
            .configure(test_events::configure)
            .configure(events::configure)
            .configure(retries::configure)
            .configure(tracking::configure)
            .configure(sms_templates::configure)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(Problem::NoRoute)
            })),
    );
}

/// Builds the server on a listener the caller bound (port 0 in tests).
pub fn server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(health::routes)
            .configure(api_v1)
            .configure(portal::configure)
            .configure(tracking_page::configure)
            .configure(sms::configure)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
