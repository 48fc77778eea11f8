//! Orders of partners with built-in tracking, as the dashboard and the public
//! tracking page read them: current status, timeline, page token. Ingest
//! writes them ([`super::tracking::record`]); every read here is scoped to a
//! partner, or to a token whose partner has tracking on.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::tracking::new_token;
use super::StoreError;
use crate::schema::EventType;

/// The columns [`Order::from_row`] reads.
const ORDER_COLUMNS: &str =
    "o.partner_id, o.order_id, o.token, o.merchant_order_ref, o.customer_id, \
     o.event_type, o.status, o.last_sequence, o.status_at, o.changed_at";

/// An order and its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The partner it belongs to.
    pub partner_id: String,
    /// The OMS order id.
    pub order_id: String,
    /// Its public page's token.
    pub token: String,
    /// The merchant's own reference.
    pub merchant_order_ref: Option<String>,
    /// The end customer (the dashboard's search; never on the public page).
    pub customer_id: Option<String>,
    /// The latest event's type: the status the dashboard and page show.
    pub event_type: EventType,
    /// The latest OMS status.
    pub status: String,
    /// The latest event's sequence.
    pub last_sequence: i64,
    /// When the latest event happened.
    pub status_at: DateTime<Utc>,
    /// When trackwire last recorded a change.
    pub changed_at: DateTime<Utc>,
}

impl Order {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Order {
            partner_id: row.get(0),
            order_id: row.get(1),
            token: row.get(2),
            merchant_order_ref: row.get(3),
            customer_id: row.get(4),
            event_type: event_type(row.get(5))?,
            status: row.get(6),
            last_sequence: row.get(7),
            status_at: row.get(8),
            changed_at: row.get(9),
        })
    }
}

fn event_type(raw: &str) -> Result<EventType, StoreError> {
    raw.parse().map_err(|_| StoreError::Corrupt {
        table: "tracked_orders",
        message: format!("unknown event type {raw:?}"),
    })
}

/// One event of an order, with only what its customer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// The event.
    pub event_id: String,
    /// Its place among the order's events.
    pub sequence: i64,
    /// What happened.
    pub event_type: EventType,
    /// The OMS status after it.
    pub status: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Expected arrival window (out_for_delivery).
    pub eta: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The rider's first name (out_for_delivery).
    pub rider_first_name: Option<String>,
    /// Machine-readable failure reason (delivery_failed).
    pub failure_reason_code: Option<String>,
    /// Failure reason (delivery_failed).
    pub failure_reason: Option<String>,
    /// Delivery attempt count (delivered, delivery_failed).
    pub attempt_number: Option<i32>,
    /// Why the goods are returned (return_*).
    pub return_reason: Option<String>,
}

/// Which orders the dashboard lists, newest change first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only orders whose current status is this event type.
    pub event_type: Option<EventType>,
    /// Only orders whose status changed at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only the order with this exact order id, merchant reference or
    /// customer id.
    pub search: Option<String>,
    /// Only orders after this one in the list (keyset paging): its
    /// `status_at` and order id.
    pub after: Option<(DateTime<Utc>, String)>,
}

/// Up to `limit` orders of `partner_id` that `filter` selects, newest
/// status change first (ties by order id, descending). Each condition is
/// added only when set, so every combination is planned on its own and
/// reads an index in list order.
pub async fn list(
    client: &impl GenericClient,
    partner_id: &str,
    filter: &OrderFilter,
    limit: i64,
) -> Result<Vec<Order>, StoreError> {
    let mut sql = format!("SELECT {ORDER_COLUMNS} FROM tracked_orders o WHERE o.partner_id = $1");
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&partner_id];
    let event_type = filter.event_type.map(EventType::as_str);
    if let Some(t) = &event_type {
        params.push(t);
        sql.push_str(&format!(" AND o.event_type = ${}", params.len()));
    }
    if let Some(since) = &filter.since {
        params.push(since);
        sql.push_str(&format!(" AND o.status_at >= ${}", params.len()));
    }
    if let Some(q) = &filter.search {
        params.push(q);
        let n = params.len();
        sql.push_str(&format!(
            " AND (o.order_id = ${n} OR o.merchant_order_ref = ${n} OR o.customer_id = ${n})"
        ));
    }
    if let Some((at, id)) = &filter.after {
        params.push(at);
        params.push(id);
        let n = params.len();
        sql.push_str(&format!(
            " AND (o.status_at, o.order_id) < (${}, ${n})",
            n - 1
        ));
    }
    params.push(&limit);
    sql.push_str(&format!(
        " ORDER BY o.status_at DESC, o.order_id DESC LIMIT ${}",
        params.len()
    ));
    let rows = client.query(&sql, &params).await?;
    rows.iter().map(Order::from_row).collect()
}

/// One order of `partner_id`.
pub async fn get(
    client: &impl GenericClient,
    partner_id: &str,
    order_id: &str,
) -> Result<Option<Order>, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM tracked_orders o
                 WHERE o.partner_id = $1 AND o.order_id = $2"
            ),
            &[&partner_id, &order_id],
        )
        .await?;
    row.as_ref().map(Order::from_row).transpose()
}

/// The timeline of one order of `partner_id`, oldest first.
pub async fn timeline(
    client: &impl GenericClient,
    partner_id: &str,
    order_id: &str,
) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows = client
        .query(
            "SELECT event_id, sequence, event_type, status, occurred_at, eta_start, eta_end,
                    rider_first_name, failure_reason_code, failure_reason, attempt_number,
                    return_reason
             FROM order_timeline WHERE partner_id = $1 AND order_id = $2
             ORDER BY sequence",
            &[&partner_id, &order_id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let eta = match (r.get(5), r.get(6)) {
                (Some(start), Some(end)) => Some((start, end)),
                _ => None,
            };
            Ok(TimelineEntry {
                event_id: r.get(0),
                sequence: r.get(1),
                event_type: event_type(r.get(2))?,
                status: r.get(3),
                occurred_at: r.get(4),
                eta,
                rider_first_name: r.get(7),
                failure_reason_code: r.get(8),
                failure_reason: r.get(9),
                attempt_number: r.get(10),
                return_reason: r.get(11),
            })
        })
        .collect()
}

/// What the public page of a token shows: the merchant's name and the
/// order. `None` for an unknown token, and for every token of a partner
/// that is suspended or has built-in tracking off.
pub async fn by_token(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<(String, Order)>, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {ORDER_COLUMNS}, p.name FROM tracked_orders o
                 JOIN partners p ON p.id = o.partner_id
                 WHERE o.token = $1 AND p.built_in_tracking AND p.status = 'active'"
            ),
            &[&token],
        )
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((r.get(10), Order::from_row(&r)?))),
    }
}

/// Gives an order of `partner_id` a new page token: the old link stops
/// working at once, and the order's next events carry the new one. Answers
/// the new token, or `None` when there is no such order.
pub async fn replace_token(
    client: &impl GenericClient,
    partner_id: &str,
    order_id: &str,
) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt(
            "UPDATE tracked_orders SET token = $3
             WHERE partner_id = $1 AND order_id = $2 RETURNING token",
            &[&partner_id, &order_id, &new_token()],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}
