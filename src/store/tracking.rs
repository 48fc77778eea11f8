//! Built-in tracking: the per-partner toggle, and what ingest keeps for the
//! orders of partners that have it on (current status, a timeline of what a
//! customer may see, the public page's token).
//!
//! Ingest calls [`tracked_partners`] alongside its first statement and
//! [`record`] only when the batch has events of such partners, so a batch
//! without them costs one small pipelined lookup and nothing else.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use super::ingest::NewEvent;
use super::{StoreError, Transaction};
use crate::schema::EventData;

/// Where the public tracking pages are served: `{base_url}/track/{token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingPages {
    base_url: String,
}

impl TrackingPages {
    /// Pages under `base_url` (an absolute http(s) URL; a trailing `/` is
    /// dropped).
    pub fn new(base_url: &str) -> Self {
        TrackingPages {
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The page of the order whose token is `token`.
    pub fn url(&self, token: &str) -> String {
        format!("{}{}", self.base_url, Self::path(token))
    }

    /// The path of that page on trackwire's own listener.
    pub fn path(token: &str) -> String {
        format!("/track/{token}")
    }
}

/// A new page token: 128 bits from the thread's CSPRNG, base64url.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `partner_id` has built-in tracking on; `None` when there is no
/// such partner.
pub async fn enabled(
    client: &impl GenericClient,
    partner_id: &str,
) -> Result<Option<bool>, StoreError> {
    let row = client
        .query_opt(
            "SELECT built_in_tracking FROM partners WHERE id = $1",
            &[&partner_id],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Turns built-in tracking on or off. Off stops new pages and timeline
/// entries and withdraws the pages; the orders and timelines stay. `None`
/// when there is no such partner.
pub async fn set_enabled(
    client: &impl GenericClient,
    partner_id: &str,
    on: bool,
) -> Result<Option<bool>, StoreError> {
    let row = client
        .query_opt(
            "UPDATE partners SET built_in_tracking = $2 WHERE id = $1 RETURNING built_in_tracking",
            &[&partner_id, &on],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Which of `partner_ids` are active with built-in tracking on.
pub async fn tracked_partners(
    tx: &Transaction<'_>,
    partner_ids: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT id FROM partners
             WHERE id = ANY($1::text[]) AND built_in_tracking AND status = 'active'",
        )
        .await?;
    let rows = tx.query(&statement, &[&partner_ids]).await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// An event of a tracked order, with the sequence the store gave it.
#[derive(Debug, Clone, Copy)]
pub struct TrackedEvent<'a> {
    /// The event.
    pub data: &'a EventData,
    /// Its sequence among its order's events.
    pub sequence: i64,
}

/// The columns of [`record`]'s statement, one array per column.
#[derive(Default)]
struct Columns<'a> {
    partner: Vec<&'a str>,
    order: Vec<&'a str>,
    event: Vec<&'a str>,
    sequence: Vec<i64>,
    event_type: Vec<&'a str>,
    status: Vec<&'a str>,
    occurred: Vec<DateTime<Utc>>,
    reference: Vec<Option<&'a str>>,
    customer: Vec<Option<&'a str>>,
    eta_start: Vec<Option<DateTime<Utc>>>,
    eta_end: Vec<Option<DateTime<Utc>>>,
    rider: Vec<Option<&'a str>>,
    failure_code: Vec<Option<&'a str>>,
    failure: Vec<Option<&'a str>>,
    attempt: Vec<Option<i32>>,
    return_reason: Vec<Option<&'a str>>,
    token: Vec<String>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, e: &TrackedEvent<'a>) {
        let d = e.data;
        self.partner.push(&d.partner_id);
        self.order.push(&d.order_id);
        self.event.push(&d.event_id);
        self.sequence.push(e.sequence);
        self.event_type.push(d.event_type.as_str());
        self.status.push(&d.status);
        self.occurred.push(d.occurred_at);
        self.reference.push(d.merchant_order_ref.as_deref());
        self.customer.push(d.customer_id.as_deref());
        self.eta_start
            .push(d.estimated_delivery_window.map(|w| w.start));
        self.eta_end
            .push(d.estimated_delivery_window.map(|w| w.end));
        self.rider
            .push(d.rider_name.as_deref().and_then(first_name));
        self.failure_code.push(d.failure_reason_code.as_deref());
        self.failure.push(d.failure_reason.as_deref());
        self.attempt
            .push(d.attempt_number.and_then(|n| i32::try_from(n).ok()));
        self.return_reason.push(d.return_reason.as_deref());
        self.token.push(new_token());
    }
}

impl Columns<'_> {
    /// The statement's parameters, in the order of `RECORD`'s arrays.
    fn params(&self) -> [&(dyn ToSql + Sync); 17] {
        [
            &self.partner,
            &self.order,
            &self.event,
            &self.sequence,
            &self.event_type,
            &self.status,
            &self.occurred,
            &self.reference,
            &self.customer,
            &self.eta_start,
            &self.eta_end,
            &self.rider,
            &self.failure_code,
            &self.failure,
            &self.attempt,
            &self.return_reason,
            &self.token,
        ]
    }
}

/// The first word of a rider's name: all the page shows of the rider.
pub fn first_name(name: &str) -> Option<&str> {
    name.split_whitespace().next()
}

/// The statement of [`record`]: the batch as arrays, one row per event.
/// Orders are written in a fixed order (their keys), so two transactions
/// sharing orders wait on each other rather than deadlock.
const RECORD: &str = "WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                          $6::text[], $7::timestamptz[], $8::text[], $9::text[],
                          $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[],
                          $14::text[], $15::int[], $16::text[], $17::text[])
         AS i(partner_id, order_id, event_id, sequence, event_type, status, occurred_at,
              merchant_order_ref, customer_id, eta_start, eta_end, rider_first_name,
              failure_reason_code, failure_reason, attempt_number, return_reason, token)
 ),
 latest AS (
     SELECT DISTINCT ON (partner_id, order_id) *
     FROM input ORDER BY partner_id, order_id, sequence DESC
 ),
 orders AS (
     INSERT INTO tracked_orders AS o (partner_id, order_id, token, merchant_order_ref,
                                      customer_id, event_type, status, last_sequence, status_at)
     SELECT partner_id, order_id, token, merchant_order_ref, customer_id, event_type, status,
            sequence, occurred_at
     FROM latest ORDER BY partner_id, order_id
     ON CONFLICT (partner_id, order_id) DO UPDATE SET
         merchant_order_ref = COALESCE(EXCLUDED.merchant_order_ref, o.merchant_order_ref),
         customer_id = COALESCE(EXCLUDED.customer_id, o.customer_id),
         event_type = CASE WHEN EXCLUDED.last_sequence > o.last_sequence
                           THEN EXCLUDED.event_type ELSE o.event_type END,
         status = CASE WHEN EXCLUDED.last_sequence > o.last_sequence
                       THEN EXCLUDED.status ELSE o.status END,
         status_at = CASE WHEN EXCLUDED.last_sequence > o.last_sequence
                          THEN EXCLUDED.status_at ELSE o.status_at END,
         last_sequence = GREATEST(o.last_sequence, EXCLUDED.last_sequence),
         changed_at = now()
     RETURNING partner_id, order_id, token
 ),
 timeline AS (
     INSERT INTO order_timeline (event_id, partner_id, order_id, sequence, event_type, status,
                                 occurred_at, eta_start, eta_end, rider_first_name,
                                 failure_reason_code, failure_reason, attempt_number,
                                 return_reason)
     SELECT event_id, partner_id, order_id, sequence, event_type, status, occurred_at,
            eta_start, eta_end, rider_first_name, failure_reason_code, failure_reason,
            attempt_number, return_reason
     FROM input
     ON CONFLICT (event_id) DO NOTHING
 )
 SELECT partner_id, order_id, token FROM orders";

/// Records events of tracked orders in the caller's transaction, in one
/// statement: each event's timeline entry, and each order's current status
/// (its highest sequence), creating the order with a fresh page token the
/// first time. Answers the token of every order, by (partner, order).
///
/// Only customer-visible fields are copied: the OTP, the phone and the
/// address never reach these tables. The customer id is kept on the order,
/// for the merchant's search.
pub async fn record(
    tx: &Transaction<'_>,
    events: &[TrackedEvent<'_>],
) -> Result<HashMap<(String, String), String>, StoreError> {
    if events.is_empty() {
        return Ok(HashMap::new());
    }
    let mut c = Columns::default();
    for e in events {
        c.push(e);
    }
    let statement = tx.prepare_cached(RECORD).await?;
    let rows = tx.query(&statement, &c.params()).await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// What ingest does for built-in tracking, given the fresh events of a batch
/// (index in `events`, sequence) and which of its partners are tracked:
/// records those partners' events and answers the page URL of each, by
/// index, for `tracking_url` (only where no template already set one).
pub async fn record_batch(
    tx: &Transaction<'_>,
    events: &[NewEvent<'_>],
    fresh: &[(usize, i64)],
    tracked: &HashSet<String>,
    pages: &TrackingPages,
) -> Result<HashMap<usize, String>, StoreError> {
    if tracked.is_empty() {
        return Ok(HashMap::new());
    }
    let chosen: Vec<(usize, TrackedEvent<'_>)> = fresh
        .iter()
        .map(|&(index, sequence)| {
            let data = events[index].data;
            (index, TrackedEvent { data, sequence })
        })
        .filter(|(_, e)| !e.data.is_test && tracked.contains(&e.data.partner_id))
        .collect();
    let batch: Vec<TrackedEvent<'_>> = chosen.iter().map(|(_, e)| *e).collect();
    let tokens = record(tx, &batch).await?;
    Ok(chosen
        .iter()
        .filter(|(_, e)| e.data.tracking_url.is_none())
        .filter_map(|(index, e)| {
            let key = (e.data.partner_id.clone(), e.data.order_id.clone());
            tokens.get(&key).map(|token| (*index, pages.url(token)))
        })
        .collect())
}

/// The distinct partners of a batch.
pub fn partners_of<'a>(events: &[NewEvent<'a>]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = events.iter().map(|e| e.data.partner_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn only_the_riders_first_name_is_kept() {
        assert_eq!(first_name("  Ravi Kumar "), Some("Ravi"));
        assert_eq!(first_name(""), None);
    }

    #[test]
    fn page_urls_join_the_base_and_the_token() {
        let pages = TrackingPages::new("https://track.example.com/");
        assert_eq!(pages.url("abc"), "https://track.example.com/track/abc");
    }
}
