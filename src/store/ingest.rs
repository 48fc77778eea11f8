//! What ingest writes: an event with one delivery per matching endpoint, or a
//! record it could not understand.

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

use super::Transaction;

use super::StoreError;
use crate::schema::EventData;

/// Where a record came from in Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// The record's append (or create) time, when the broker gave one.
    pub appended_at: Option<DateTime<Utc>>,
}

/// A delivery created for a new event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedDelivery {
    /// The delivery's id; its order among one endpoint's deliveries is the
    /// order in which they are sent.
    pub delivery_id: i64,
    /// The endpoint that receives it.
    pub endpoint_id: String,
}

/// Gives the event `event_id` of `order_id` the order's next sequence number,
/// in the caller's transaction. `None` when the event is already stored (the
/// same CDC record consumed again): its number was given the first time and
/// the counter is left alone.
///
/// Numbers increase with each event of an order. Two instances racing on one
/// record after a rebalance can skip a number, never repeat or reverse one,
/// because the order's row is locked until the transaction ends.
///
/// Prepared once per pooled connection: ingest runs it for every record, and
/// parsing and planning it each time cost PostgreSQL more than running it.
pub async fn next_sequence(
    tx: &Transaction<'_>,
    event_id: &str,
    order_id: &str,
) -> Result<Option<i64>, StoreError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO order_sequences AS s (order_id, last_sequence)
             SELECT $2, 1 WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = $1)
             ON CONFLICT (order_id) DO UPDATE
                 SET last_sequence = s.last_sequence + 1, updated_at = now()
             RETURNING last_sequence",
        )
        .await?;
    let row = tx.query_opt(&statement, &[&event_id, &order_id]).await?;
    Ok(row.map(|r| r.get(0)))
}

/// Stores an event and creates a pending delivery for every enabled endpoint
/// of its (active) partner that subscribes to its type, in one statement.
///
/// An event stored before (the same CDC record consumed again after a crash)
/// creates nothing and returns no deliveries: the deliveries made the first
/// time are still in the store and their endpoints pick them up from there.
///
/// `dispatch_outcome` records what the dispatch service answered (`enriched`,
/// `not_found`, `missed`), when it was asked. Prepared once per pooled
/// connection, like [`next_sequence`].
pub async fn insert_event(
    tx: &Transaction<'_>,
    data: &EventData,
    source: Option<&SourcePosition>,
    dispatch_outcome: Option<&str>,
) -> Result<Vec<CreatedDelivery>, StoreError> {
    let json = serde_json::to_value(data).map_err(|e| StoreError::Corrupt {
        table: "events",
        message: e.to_string(),
    })?;
    let statement = tx
        .prepare_cached(
            "WITH ev AS (
                 INSERT INTO events (id, partner_id, order_id, event_type, occurred_at, is_test, data,
                                     source_topic, source_partition, source_offset, source_appended_at,
                                     dispatch_outcome)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (id) DO NOTHING
                 RETURNING id
             )
             INSERT INTO deliveries (event_id, endpoint_id, partner_id, order_id)
             SELECT ev.id, e.id, $2, $3
             FROM ev
             JOIN partners p ON p.id = $2 AND p.status = 'active'
             JOIN endpoints e ON e.partner_id = p.id AND e.enabled
             JOIN endpoint_event_types t ON t.endpoint_id = e.id AND t.event_type = $4
             ORDER BY e.id
             RETURNING id, endpoint_id",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &data.event_id,
                &data.partner_id,
                &data.order_id,
                &data.event_type.as_str(),
                &data.occurred_at,
                &data.is_test,
                &json,
                &source.map(|s| s.topic.as_str()),
                &source.map(|s| s.partition),
                &source.map(|s| s.offset),
                &source.and_then(|s| s.appended_at),
                &dispatch_outcome,
            ],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| CreatedDelivery {
            delivery_id: r.get(0),
            endpoint_id: r.get(1),
        })
        .collect())
}

/// Keeps a record that could not be turned into an event, with its raw bytes
/// and the reason, so that nothing is lost and it can be replayed once fixed.
pub async fn quarantine(
    tx: &impl GenericClient,
    source: &SourcePosition,
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    error: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO quarantine (topic, partition, \"offset\", key, payload, error)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (topic, partition, \"offset\") DO NOTHING",
        &[
            &source.topic,
            &source.partition,
            &source.offset,
            &key,
            &payload,
            &error,
        ],
    )
    .await?;
    Ok(())
}
