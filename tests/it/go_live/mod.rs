//! What an integration lead meets on the way to go-live: test events, the
//! event log's history and payloads, restarts and suspensions, the command
//! line. Real PostgreSQL, real HTTP on loopback, the binary where it matters.

mod ack_window;
mod cli;
mod history;
mod payloads;
mod portal_retry;
mod restart;
mod suspension;
mod test_events;
