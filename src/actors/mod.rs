//! The actors that deliver: a [`router::Router`] fanning stored deliveries out
//! to one supervised [`endpoint::EndpointActor`] per endpoint, and a
//! [`recorder::Recorder`] per worker writing attempt outcomes back in batches.

pub mod dead_letters;
pub mod endpoint;
pub mod recorder;
pub mod router;

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::config::{DeliveryConfig, HealthConfig};
use crate::schema::Lifecycle;
use dead_letters::DeadLetters;
use endpoint::{AtRiskPolicy, BreakerPolicy, RetryPolicy};

/// What every endpoint actor shares. Cheap to clone.
#[derive(Clone)]
pub struct DeliveryDeps {
    /// The store.
    pub pool: Pool,
    /// `[delivery]` settings.
    pub config: Arc<DeliveryConfig>,
    /// When to retry.
    pub policy: RetryPolicy,
    /// Where dead deliveries go.
    pub dead_letters: DeadLetters,
    /// When the circuit breaker opens.
    pub breaker: BreakerPolicy,
    /// When an integration is at risk.
    pub at_risk: AtRiskPolicy,
    /// `[health]` settings.
    pub health: Arc<HealthConfig>,
    /// Which schema versions are deprecated, for the `Deprecation` and
    /// `Sunset` headers.
    pub lifecycle: Lifecycle,
}

impl DeliveryDeps {
    /// The policies as configured.
    pub fn new(pool: Pool, config: &crate::config::Config, dead_letters: DeadLetters) -> Self {
        let b = &config.breaker;
        let h = &config.health;
        DeliveryDeps {
            pool,
            config: Arc::new(config.delivery.clone()),
            policy: RetryPolicy::new(
                config.delivery.retry_schedule.clone(),
                config.delivery.jitter,
            ),
            dead_letters,
            breaker: BreakerPolicy {
                consecutive_failures: b.consecutive_failures,
                failure_rate: b.failure_rate,
                window: b.window,
                min_attempts: b.min_attempts,
                cooldown: b.cooldown,
                max_cooldown: b.max_cooldown,
            },
            at_risk: AtRiskPolicy {
                threshold: h.at_risk_threshold,
                min_attempts: h.at_risk_min_attempts,
                open_after: h.at_risk_open_after,
                clear_margin: h.clear_margin,
            },
            health: Arc::new(h.clone()),
            lifecycle: Lifecycle::new(config.schema.v2_released),
        }
    }
}
