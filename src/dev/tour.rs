//! The demo's banner: once the service answers and the first demo order is
//! tracked, it prints the links a newcomer clicks through, a single-use
//! portal sign-in link first.

use std::time::{Duration, Instant};

use super::DevError;
use crate::config::Config;
use crate::store::{self, orders, portal, StoreError};

/// How long the tour waits for the service and the first tracked order.
const PATIENCE: Duration = Duration::from_secs(60);

/// The links the banner shows.
#[derive(Debug, Clone)]
pub struct Links {
    /// A single-use portal sign-in link for the demo partner.
    pub sign_in: String,
    /// The service's own base URL (`http://<http.listen>`).
    pub base: String,
    /// The public tracking page of a demo order, once one is tracked.
    pub tracking: Option<String>,
    /// The Prometheus scrape endpoint.
    pub metrics: String,
}

impl Links {
    /// The banner, one labelled link a line.
    pub fn banner(&self, partner: &str, receivers: &[String]) -> String {
        let base = &self.base;
        let mut lines = vec![
            "trackwire demo: the tour".to_owned(),
            format!(
                "  sign in     {}  (portal of {partner}, single use)",
                self.sign_in
            ),
            format!("  event log   {base}/portal/events"),
            format!("  health      {base}/portal/health  (ACK rate, breaker, at-risk flag)"),
            format!("  orders      {base}/portal/orders"),
        ];
        if let Some(page) = &self.tracking {
            lines.push(format!(
                "  tracking    {page}  (public page of a demo order)"
            ));
        }
        lines.extend([
            format!("  metrics     {}", self.metrics),
            format!("  openapi     {base}/api/v1/openapi.json"),
            format!("  ready       {base}/health/ready"),
        ]);
        for receiver in receivers {
            lines.push(format!("  endpoint    {receiver}"));
        }
        lines.push(
            "  Ctrl-C stops everything. Each line below is a webhook one of the endpoints received."
                .to_owned(),
        );
        lines.join("\n")
    }
}

/// Waits for the service and a tracked order of `partner`, then issues the
/// sign-in link as `POST /api/v1/partners/{id}/portal-link` does.
pub async fn links(config: &Config, partner: &str) -> Result<Links, DevError> {
    let deadline = Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(config.http.listen)
        .await
        .is_err()
    {
        if Instant::now() >= deadline {
            return Err(DevError::ServiceSilent {
                listen: config.http.listen,
                seconds: PATIENCE.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pool = store::connect(&config.database.url, 1, config.database.connect_timeout)
        .map_err(crate::app::RunError::from)?;
    let client = pool.get().await.map_err(StoreError::from)?;
    let token = first_tracked_order(&**client, partner, deadline).await?;
    let (link, _) = portal::issue_link(&**client, partner, config.http.portal_link_ttl).await?;
    let base = format!("http://{}", config.http.listen);
    Ok(Links {
        sign_in: format!("{base}/portal/login?token={link}"),
        base,
        tracking: token.map(|t| config.http.tracking_pages().url(&t)),
        metrics: format!("http://{}/metrics", config.metrics.listen),
    })
}

/// The page token of the newest tracked order of `partner`; `None` if none
/// is tracked by `deadline`.
async fn first_tracked_order(
    client: &impl tokio_postgres::GenericClient,
    partner: &str,
    deadline: Instant,
) -> Result<Option<String>, DevError> {
    loop {
        let newest = orders::list(client, partner, &orders::OrderFilter::default(), 1).await?;
        if let Some(order) = newest.into_iter().next() {
            return Ok(Some(order.token));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
