//! The actors that deliver: a [`router::Router`] fanning stored deliveries out
//! to one supervised [`endpoint::EndpointActor`] per endpoint, and a
//! [`recorder::Recorder`] per worker writing attempt outcomes back in batches.

pub mod dead_letters;
pub mod endpoint;
pub mod recorder;
pub mod router;

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::config::DeliveryConfig;
use crate::schema::Lifecycle;
use dead_letters::DeadLetters;
use endpoint::RetryPolicy;

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
    /// Which schema versions are deprecated, for the `Deprecation` and
    /// `Sunset` headers.
    pub lifecycle: Lifecycle,
}
