//! What ingest writes: an event with one delivery per matching endpoint, or a
//! record it could not understand.

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

use super::Transaction;

use super::tracking::{self, TrackingPages};
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

/// An event for [`store_events`], with what ingest knows of its source.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The event; its `sequence` is ignored and assigned by the store.
    pub data: &'a EventData,
    /// Where the CDC record came from, when it came from Kafka.
    pub source: Option<&'a SourcePosition>,
    /// What the dispatch service answered (`enriched`, `not_found`,
    /// `missed`), when it was asked.
    pub dispatch_outcome: Option<&'a str>,
}

/// An event [`store_events`] stored for the first time.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Its index in the slice given to [`store_events`].
    pub index: usize,
    /// The sequence number it was given.
    pub sequence: i64,
    /// Its deliveries, in id order.
    pub deliveries: Vec<CreatedDelivery>,
    /// The built-in tracking page it links to, when its partner has built-in
    /// tracking on and no template gave a `tracking_url`.
    pub tracking_url: Option<String>,
}

/// Stores a batch of events, in the caller's transaction, with a fixed
/// number of statements whatever the batch size: each event gets its order's
/// next sequence number and one pending delivery per enabled endpoint of its
/// partner that subscribes to its type (held while the partner is suspended).
///
/// Events stored before (the same CDC records consumed again after a crash)
/// are left out of the answer and create nothing: their sequence numbers
/// were given the first time, and their deliveries are still in the store,
/// where their endpoints pick them up. Event ids must be distinct within the
/// batch.
///
/// Sequence numbers follow the batch's order within each order. Two
/// instances racing on one record after a rebalance can skip a number, never
/// repeat or reverse one, because each order's row stays locked until the
/// transaction ends. Deliveries get ids in batch order, so one endpoint
/// receives one order's events in the order they happened. The endpoints
/// are locked against deletion until the transaction ends, so an endpoint
/// deleted meanwhile takes these deliveries with it.
///
/// Events of partners with built-in tracking on also update their order's
/// status and timeline ([`tracking::record_batch`]) and link to its page
/// under `pages`. Which partners those are is asked alongside the first
/// statement, so other batches wait for no extra round trip.
///
/// The statements are prepared once per pooled connection: ingest runs them
/// for every batch, and parsing and planning them each time cost PostgreSQL
/// more than running them.
pub async fn store_events(
    tx: &Transaction<'_>,
    events: &[NewEvent<'_>],
    pages: &TrackingPages,
) -> Result<Vec<StoredEvent>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let partners = tracking::partners_of(events);
    let (fresh, tracked) = futures_util::future::try_join(
        assign_sequences(tx, events),
        tracking::tracked_partners(tx, &partners),
    )
    .await?;
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    // Issued together: pipelined on the connection. The SMS outbox rows are
    // written here so that an SMS is as durable as its event.
    let (mut links, _) = futures_util::future::try_join(
        tracking::record_batch(tx, events, &fresh, &tracked, pages),
        super::sms::enqueue(tx, events, &fresh, &tracked),
    )
    .await?;
    let mut ids = Vec::with_capacity(fresh.len());
    let mut partners = Vec::with_capacity(fresh.len());
    let mut orders = Vec::with_capacity(fresh.len());
    let mut types = Vec::with_capacity(fresh.len());
    let mut occurred = Vec::with_capacity(fresh.len());
    let mut is_test = Vec::with_capacity(fresh.len());
    let mut data = Vec::with_capacity(fresh.len());
    let mut topics = Vec::with_capacity(fresh.len());
    let mut partitions = Vec::with_capacity(fresh.len());
    let mut offsets = Vec::with_capacity(fresh.len());
    let mut appended = Vec::with_capacity(fresh.len());
    let mut outcomes = Vec::with_capacity(fresh.len());
    for &(index, sequence) in &fresh {
        let e = &events[index];
        ids.push(e.data.event_id.as_str());
        partners.push(e.data.partner_id.as_str());
        orders.push(e.data.order_id.as_str());
        types.push(e.data.event_type.as_str());
        occurred.push(e.data.occurred_at);
        is_test.push(e.data.is_test);
        data.push(with_sequence(e.data, sequence, links.get(&index))?);
        topics.push(e.source.map(|s| s.topic.as_str()));
        partitions.push(e.source.map(|s| s.partition));
        offsets.push(e.source.map(|s| s.offset));
        appended.push(e.source.and_then(|s| s.appended_at));
        outcomes.push(e.dispatch_outcome);
    }
    let statement = tx
        .prepare_cached(
            "WITH input AS (
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                                      $6::bool[], $7::jsonb[], $8::text[], $9::int[], $10::bigint[],
                                      $11::timestamptz[], $12::text[])
                     WITH ORDINALITY AS i(id, partner_id, order_id, event_type, occurred_at, is_test, data,
                                          source_topic, source_partition, source_offset,
                                          source_appended_at, dispatch_outcome, ord)
             ),
             ev AS (
                 INSERT INTO events (id, partner_id, order_id, event_type, occurred_at, is_test, data,
                                     source_topic, source_partition, source_offset, source_appended_at,
                                     dispatch_outcome)
                 SELECT id, partner_id, order_id, event_type, occurred_at, is_test, data,
                        source_topic, source_partition, source_offset, source_appended_at, dispatch_outcome
                 FROM input ORDER BY ord
                 ON CONFLICT (id) DO NOTHING
                 RETURNING id
             )
             INSERT INTO deliveries (event_id, endpoint_id, partner_id, order_id)
             SELECT i.id, e.id, i.partner_id, i.order_id
             FROM ev
             JOIN input i ON i.id = ev.id
             -- Whatever the partner's status: a suspended partner's
             -- deliveries are held (no actor runs for them) until it is
             -- active again, when delivery.max_age bounds what goes out.
             JOIN endpoints e ON e.partner_id = i.partner_id AND e.enabled
             JOIN endpoint_event_types t ON t.endpoint_id = e.id AND t.event_type = i.event_type
             ORDER BY i.ord, e.id
             FOR KEY SHARE OF e
             RETURNING id, event_id, endpoint_id",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &ids,
                &partners,
                &orders,
                &types,
                &occurred,
                &is_test,
                &data,
                &topics,
                &partitions,
                &offsets,
                &appended,
                &outcomes,
            ],
        )
        .await?;
    let position: std::collections::HashMap<&str, usize> =
        ids.iter().enumerate().map(|(at, id)| (*id, at)).collect();
    let mut stored: Vec<StoredEvent> = fresh
        .iter()
        .map(|&(index, sequence)| StoredEvent {
            index,
            sequence,
            deliveries: Vec::new(),
            tracking_url: links.remove(&index),
        })
        .collect();
    for row in rows {
        let event_id: &str = row.get(1);
        let Some(&at) = position.get(event_id) else {
            return Err(StoreError::Corrupt {
                table: "deliveries",
                message: format!("created for event {event_id}, which is not in the batch"),
            });
        };
        stored[at].deliveries.push(CreatedDelivery {
            delivery_id: row.get(0),
            endpoint_id: row.get(2),
        });
    }
    for event in &mut stored {
        event.deliveries.sort_by_key(|d| d.delivery_id);
    }
    Ok(stored)
}

/// Gives each event not stored before its order's next sequence number;
/// answers (index in `events`, sequence) for those events only.
async fn assign_sequences(
    tx: &Transaction<'_>,
    events: &[NewEvent<'_>],
) -> Result<Vec<(usize, i64)>, StoreError> {
    let ids: Vec<&str> = events.iter().map(|e| e.data.event_id.as_str()).collect();
    let orders: Vec<&str> = events.iter().map(|e| e.data.order_id.as_str()).collect();
    // Orders are locked in a fixed order (their ids), so two transactions
    // sharing orders wait on each other rather than deadlock.
    let statement = tx
        .prepare_cached(
            "WITH input AS (
                 SELECT i.event_id, i.order_id, i.ord
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(event_id, order_id, ord)
                 WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = i.event_id)
             ),
             counts AS (
                 SELECT order_id, count(*) AS n FROM input GROUP BY order_id
             ),
             bumped AS (
                 INSERT INTO order_sequences AS s (order_id, last_sequence)
                 SELECT order_id, n FROM counts ORDER BY order_id
                 ON CONFLICT (order_id) DO UPDATE
                     SET last_sequence = s.last_sequence + EXCLUDED.last_sequence, updated_at = now()
                 RETURNING order_id, last_sequence
             )
             SELECT i.ord,
                    b.last_sequence - c.n + row_number() OVER (PARTITION BY i.order_id ORDER BY i.ord)
             FROM input i
             JOIN counts c ON c.order_id = i.order_id
             JOIN bumped b ON b.order_id = i.order_id
             ORDER BY i.ord",
        )
        .await?;
    let rows = tx.query(&statement, &[&ids, &orders]).await?;
    rows.into_iter()
        .map(|row| {
            let ord: i64 = row.get(0);
            let index = usize::try_from(ord - 1)
                .ok()
                .filter(|&i| i < events.len())
                .ok_or_else(|| StoreError::Corrupt {
                    table: "order_sequences",
                    message: format!("sequence for batch position {ord} of {}", events.len()),
                })?;
            Ok((index, row.get(1)))
        })
        .collect()
}

/// The event as stored in `events.data`: the payloads are built from it.
fn with_sequence(
    data: &EventData,
    sequence: i64,
    tracking_url: Option<&String>,
) -> Result<serde_json::Value, StoreError> {
    let mut json = serde_json::to_value(data).map_err(|e| StoreError::Corrupt {
        table: "events",
        message: e.to_string(),
    })?;
    json["sequence"] = sequence.into();
    if let Some(url) = tracking_url {
        json["tracking_url"] = url.as_str().into();
    }
    Ok(json)
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
