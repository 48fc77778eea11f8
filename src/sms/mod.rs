//! Templated SMS to end customers of partners with built-in tracking.
//!
//! # Layout
//! - [`phone`]: the customer's number, normalised to E.164 and masked.
//! - [`template`]: templates with named variables, the DLT check, defaults.
//! - [`parts`]: GSM-7 / UCS-2 character and part counting.
//! - [`gateway`]: the [`gateway::SmsGateway`] seam and its Kannel client.
//! - [`sender`]: drains the PostgreSQL outbox through the gateway.
//!
//! The outbox row is written in the ingest transaction (`store::sms`), so an
//! SMS is never lost; the sender claims due rows, renders their text from
//! the stored event and the partner's template, and records the gateway's
//! answer and, later, the delivery report.

pub mod gateway;
pub mod parts;
pub mod phone;
pub mod sender;
pub mod template;

pub use phone::CustomerPhone;
pub use template::{Template, Variable};
