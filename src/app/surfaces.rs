//! The HTTP surfaces: the API, portal and tracking pages on `http.listen`,
//! and the Prometheus endpoint on `metrics.listen`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use deadpool_postgres::Pool;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::task::JoinHandle;

use super::delivery::Delivery;
use super::RunError;
use crate::config::Config;

/// A server running on its own task.
struct Running {
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    fn spawn(server: Server) -> Self {
        Running {
            handle: server.handle(),
            task: actix_rt::spawn(server),
        }
    }

    async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}

/// The running servers.
pub struct Surfaces {
    http: Running,
    scrape: Running,
}

impl Surfaces {
    /// Binds both addresses and starts serving.
    pub fn start(
        config: &Config,
        pool: &Pool,
        delivery: &Delivery,
        metrics: PrometheusHandle,
    ) -> Result<Self, RunError> {
        let addr = config.http.listen;
        let state = crate::http::AppState {
            pool: pool.clone(),
            router: delivery.router.clone(),
            broker: delivery.broker.clone(),
            api: Arc::new(crate::http::ApiSettings::from_config(config)),
        };
        let http = TcpListener::bind(addr)
            .and_then(|tcp| crate::http::server(tcp, state))
            .map_err(|source| RunError::Listen { addr, source })?;
        let addr = config.metrics.listen;
        let scrape = TcpListener::bind(addr)
            .and_then(|tcp| crate::telemetry::exporter::server(tcp, metrics))
            .map_err(|source| RunError::Listen { addr, source })?;
        Ok(Surfaces {
            http: Running::spawn(http),
            scrape: Running::spawn(scrape),
        })
    }

    /// Stops the API and portal, then the metrics endpoint (so the last
    /// figures can still be scraped while the rest stops).
    pub async fn stop(self) {
        self.http.stop().await;
        self.scrape.stop().await;
    }
}
