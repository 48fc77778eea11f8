//! Calls to the dispatch service with a deadline per call and a retry budget
//! per event.

use std::time::Duration;

use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

use super::proto::dispatch_client::DispatchClient;
use super::proto::{Assignment, GetAssignmentRequest};
use crate::config::DispatchConfig;

/// First wait between retries; doubled after each, within the budget.
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(100);
/// Longest wait between retries.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

/// The dispatch client could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("dispatch.url {url:?} is not a usable gRPC endpoint: {source}")]
pub struct DispatchSetupError {
    /// The configured URL.
    url: String,
    /// Why.
    source: tonic::transport::Error,
}

/// What asking for one order's assignment came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The current assignment.
    Enriched(Assignment),
    /// The dispatch service knows no assignment for the order. An answer, not
    /// a failure: not retried.
    NotFound,
    /// No answer within the budget, or an error not worth retrying.
    Missed {
        /// Calls made.
        attempts: u32,
        /// The last call's failure: a gRPC status code name, or `deadline`.
        /// Never the server's message, which could echo sensitive fields.
        last_error: String,
    },
}

impl Outcome {
    /// Metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Enriched(_) => "enriched",
            Outcome::NotFound => "not_found",
            Outcome::Missed { .. } => "missed",
        }
    }
}

/// A client of the dispatch service. Cheap to clone: clones share one HTTP/2
/// connection, on which concurrent calls are multiplexed.
#[derive(Clone)]
pub struct Dispatch {
    client: DispatchClient<Channel>,
    deadline: Duration,
    budget: Duration,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch")
            .field("deadline", &self.deadline)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Dispatch {
    /// A client for `config`, or `None` when `dispatch.url` is empty. The
    /// connection is made on first use, so a dispatch service that is down at
    /// start-up delays nothing.
    pub fn from_config(config: &DispatchConfig) -> Result<Option<Self>, DispatchSetupError> {
        let Some(url) = &config.url else {
            return Ok(None);
        };
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|source| DispatchSetupError {
                url: url.clone(),
                source,
            })?
            .connect_timeout(config.deadline)
            .tcp_nodelay(true);
        Ok(Some(Dispatch {
            client: DispatchClient::new(endpoint.connect_lazy()),
            deadline: config.deadline,
            budget: config.budget,
        }))
    }

    /// The current assignment of `order_id`, retrying transient failures
    /// until the budget is spent.
    pub async fn assignment(&self, order_id: &str) -> Outcome {
        let give_up_at = Instant::now() + self.budget;
        let mut wait = FIRST_RETRY_WAIT;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let remaining = give_up_at.saturating_duration_since(Instant::now());
            let limit = self.deadline.min(remaining);
            let last_error = match self.call(order_id, limit).await {
                Ok(assignment) => return Outcome::Enriched(assignment),
                Err(CallError::Status(Code::NotFound)) => return Outcome::NotFound,
                Err(CallError::Status(code)) if !retryable(code) => {
                    return Outcome::Missed {
                        attempts,
                        last_error: format!("{code:?}"),
                    }
                }
                Err(CallError::Status(code)) => format!("{code:?}"),
                Err(CallError::Deadline) => "deadline".to_owned(),
            };
            // Sleep only if a retry can still start inside the budget.
            if Instant::now() + wait >= give_up_at {
                return Outcome::Missed {
                    attempts,
                    last_error,
                };
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY_WAIT);
        }
    }

    async fn call(&self, order_id: &str, limit: Duration) -> Result<Assignment, CallError> {
        let mut request = tonic::Request::new(GetAssignmentRequest {
            order_id: order_id.to_owned(),
        });
        // Sent as grpc-timeout so the server can stop working on it too; the
        // local timeout also covers connecting.
        request.set_timeout(limit);
        let mut client = self.client.clone();
        match tokio::time::timeout(limit, client.get_assignment(request)).await {
            Err(_) => Err(CallError::Deadline),
            Ok(Err(status)) => Err(CallError::Status(status.code())),
            Ok(Ok(response)) => Ok(response.into_inner()),
        }
    }
}

/// Why one call failed.
#[derive(Debug)]
enum CallError {
    /// The server (or the transport) answered with this code.
    Status(Code),
    /// No answer within the call's limit.
    Deadline,
}

/// Codes that say "try again": the service is down, overloaded or slow, or
/// the connection broke. Anything else (a bad request, no permission, an
/// unknown method) would fail the same way on every retry.
fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Internal
            | Code::Unknown
            | Code::Cancelled
    )
}
