//! The service's own HTTP surface (actix-web): health checks now; the admin
//! API and the partner portal are mounted here too.

pub mod health;

use std::net::TcpListener;

use actix::Addr;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use deadpool_postgres::Pool;

use crate::actors::router::Router;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub pool: Pool,
    /// The router, for readiness.
    pub router: Addr<Router>,
}

/// Builds the server on a listener the caller bound (port 0 in tests).
pub fn server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let server =
        HttpServer::new(move || App::new().app_data(data.clone()).configure(health::routes))
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
    Ok(server)
}
