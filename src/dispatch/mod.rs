//! The dispatch service, asked over gRPC (`proto/dispatch.proto`) for the
//! current assignment of an order when its `out_for_delivery` event is built:
//! rider name and phone, the delivery OTP and the estimated window.
//!
//! Each call has a deadline and failed calls are retried until a budget per
//! event is spent. Past the budget the event goes out without those fields:
//! a late partner notification is worse than one without the rider, which the
//! end customer sees on the tracking page anyway. Every outcome is counted,
//! and nothing here ever logs the OTP or the unmasked phone.
//!
//! # Layout
//! - [`proto`]: the generated client (and the server trait, for tests).
//! - `client`: [`Dispatch`], calls with deadline, retries and budget.
//! - `enrich`: applying an [`Assignment`] to an event.

mod client;
mod enrich;

/// Code generated from `proto/dispatch.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("trackwire.dispatch.v1");
}

pub use client::{Dispatch, DispatchSetupError, Outcome};
pub use enrich::apply;
pub use proto::Assignment;
