//! The partner portal: server-rendered pages under `/portal`.
//!
//! A session (cookie) is scoped to one partner, and every page reads and
//! changes data through the same store functions and scoping as the admin
//! API. Every form carries the session's CSRF token ([`session::Posted`]).
//!
//! # Layout
//! - `html`: layout, style sheet, escaping; `chart`: the SVG health chart.
//! - `session`: cookies, the signed-in and form extractors; `error`: failures
//!   as pages.
//! - one file per page: `login`, `endpoints`, `test_event`, `events`, `health`,
//!   `tracking` (the built-in tracking setting); `orders`, the live orders
//!   dashboard of built-in tracking; `sms`, the SMS templates with their
//!   live preview.

pub mod chart;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod health;
pub mod html;
pub mod login;
pub mod orders;
pub mod session;
pub mod sms;
pub mod test_event;
pub mod tracking;

use actix_web::web;

/// Mounts the portal under `/portal`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/portal")
            .route(
                "",
                web::get().to(|| async { html::see_other("/portal/endpoints") }),
            )
            .route(
                "/",
                web::get().to(|| async { html::see_other("/portal/endpoints") }),
            )
            .route("/login", web::get().to(login::show))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/endpoints", web::get().to(endpoints::list))
            .route("/endpoints", web::post().to(endpoints::create))
            .route("/endpoints/{id}", web::get().to(endpoints::detail))
            .route("/endpoints/{id}", web::post().to(endpoints::update))
            .route("/endpoints/{id}/delete", web::post().to(endpoints::delete))
            .route(
                "/endpoints/{id}/rotate-secret",
                web::post().to(endpoints::rotate),
            )
            .route("/endpoints/{id}/test", web::post().to(test_event::send))
            .route("/events", web::get().to(events::list))
            .route("/events/{id}", web::get().to(events::detail))
            .route("/deliveries/retry", web::post().to(events::retry_matching))
            .route("/deliveries/{id}/retry", web::post().to(events::retry))
            .route("/health", web::get().to(health::page))
            .route("/tracking", web::get().to(tracking::page))
            .route("/tracking", web::post().to(tracking::set))
            .route("/orders", web::get().to(orders::list))
            .route("/live/orders", web::get().to(orders::list_live))
            .route("/live/orders/{id}", web::get().to(orders::detail_live))
            .route("/static/live.js", web::get().to(orders::script))
            .route("/orders/{id}", web::get().to(orders::detail))
            .route("/orders/{id}/new-link", web::post().to(orders::new_link))
            .route("/sms", web::get().to(sms::page))
            .route("/sms/{event_type}", web::post().to(sms::save))
            .route("/static/sms.js", web::get().to(sms::script)),
    );
}
