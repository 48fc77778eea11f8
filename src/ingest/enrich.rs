//! Asking the dispatch service for the rider, OTP and window of a batch's
//! `out_for_delivery` events, all at once.

use futures_util::future::join_all;

use crate::dispatch::{self, Dispatch, Outcome};
use crate::schema::{EventData, EventType};
use crate::telemetry::events::DispatchLookedUp;

/// Whether an event of this type is completed from the dispatch service.
pub(super) fn wants_dispatch(event_type: EventType) -> bool {
    event_type == EventType::OutForDelivery
}

/// Enriches every event in `events` concurrently (one HTTP/2 connection,
/// multiplexed), so a batch waits at most one budget however many
/// out_for_delivery events it holds. Returns each event's outcome label, in
/// the same order, for the store.
pub(super) async fn enrich(dispatch: &Dispatch, events: Vec<&mut EventData>) -> Vec<&'static str> {
    let calls = events.into_iter().map(|event| async move {
        let outcome = dispatch.assignment(&event.order_id).await;
        let label = outcome.label();
        DispatchLookedUp { outcome: label }.emit();
        match outcome {
            Outcome::Enriched(assignment) => dispatch::apply(event, assignment),
            Outcome::NotFound => {
                tracing::info!(
                    event_id = %event.event_id,
                    order_id = %event.order_id,
                    "dispatch service has no assignment for the order"
                );
            }
            // The error is a status code name, never the server's message:
            // nothing that could carry the OTP or the phone reaches the log.
            Outcome::Missed {
                attempts,
                last_error,
            } => {
                tracing::warn!(
                    event_id = %event.event_id,
                    order_id = %event.order_id,
                    attempts,
                    %last_error,
                    "dispatch service unavailable within the budget; event sent without rider details"
                );
            }
        }
        label
    });
    join_all(calls).await
}
