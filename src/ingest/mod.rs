//! Ingest: consumes the CDC topic, turns order-status transitions into
//! events, stores each event with its deliveries, and only then lets the
//! record's offset be committed.
//!
//! Records are handled in batches (up to `kafka.batch_size`, waiting at most
//! `kafka.batch_linger` to fill one), each batch in one transaction, up to
//! `kafka.ingest_lanes` batches at once. A record
//! that cannot be understood is quarantined in that same transaction; one the
//! database itself rejects is retried alone and quarantined with the
//! database's reason. Either way the partition moves on.

pub mod debezium;
mod enrich;
pub mod mapping;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use tokio::sync::{mpsc, watch};

use crate::actors::router::{Dispatch, Router};
use crate::dispatch::Dispatch as DispatchService;
use crate::kafka::CdcConsumer;
use crate::schema::EventData;
use crate::store::deliveries::PendingDelivery;
use crate::store::ingest::{self as ingest_store, NewEvent, SourcePosition};
use crate::store::tracking::TrackingPages;
use crate::store::StoreError;
use crate::telemetry::events::{
    EventIngested, KafkaConsumerError, QuarantineReason, RecordQuarantined, RecordSkipped,
};
use debezium::Record;
use mapping::{Mapped, Mapper, SkipReason};

/// What one record becomes.
enum Verdict {
    Event(Box<EventData>),
    Skip(SkipReason),
    Quarantine(QuarantineReason, String),
}

struct Prepared {
    message: OwnedMessage,
    position: SourcePosition,
    verdict: Verdict,
    /// What the dispatch service answered for this event, when asked.
    dispatch_outcome: Option<&'static str>,
    /// The same event appeared earlier in this batch (a redelivered record):
    /// written once, by the first, as the store takes distinct events.
    repeat: bool,
}

/// The ingest loop and what it needs.
pub struct Ingest {
    consumer: CdcConsumer,
    pool: Pool,
    mapper: Mapper,
    router: Addr<Router>,
    batch_size: usize,
    linger: Duration,
    /// The dispatch service, when `dispatch.url` is set.
    dispatch: Option<DispatchService>,
    /// How many batches may be written at once.
    lanes: usize,
    /// Where the built-in tracking pages are, for `tracking_url`.
    pages: TrackingPages,
}

impl Ingest {
    /// An ingest loop over an already subscribed consumer. Events of
    /// partners with built-in tracking link to their order's page under
    /// `pages` (`http.tracking_page_base_url`).
    pub fn new(
        consumer: CdcConsumer,
        pool: Pool,
        mapper: Mapper,
        router: Addr<Router>,
        batch_size: usize,
        linger: Duration,
        pages: TrackingPages,
    ) -> Self {
        Ingest {
            consumer,
            pool,
            mapper,
            router,
            batch_size,
            linger,
            dispatch: None,
            lanes: 1,
            pages,
        }
    }

    /// Completes out_for_delivery events from the dispatch service before
    /// they are stored.
    pub fn with_dispatch(mut self, dispatch: Option<DispatchService>) -> Self {
        self.dispatch = dispatch;
        self
    }

    /// Writes up to `lanes` batches at once, each from its own partitions.
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// Runs until `shutdown` turns true. Offsets of stored records are
    /// committed on the way out.
    ///
    /// One reader takes records from the consumer and hands each to the lane
    /// of its partition; every lane batches, stores and dispatches on its
    /// own, so several batches are written at once on separate connections.
    /// A partition always goes to the same lane, which keeps its records in
    /// order (and one order's records share a partition); lanes share no
    /// order and no record, so their transactions never wait on each other.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..self.lanes)
            .map(|_| mpsc::channel::<OwnedMessage>(self.batch_size))
            .unzip();
        let lanes = receivers
            .into_iter()
            .map(|rx| self.lane(rx, shutdown.clone()));
        tokio::join!(
            self.read(senders, shutdown.clone()),
            futures_util::future::join_all(lanes)
        );
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(%error, "final offset commit");
        }
        tracing::info!("ingest stopped");
    }

    /// Hands records to their partition's lane until shutdown, or until a
    /// lane has stopped.
    async fn read(
        &self,
        lanes: Vec<mpsc::Sender<OwnedMessage>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                m = self.consumer.recv() => m,
            };
            let message = match next {
                Ok(m) => m.detach(),
                Err(error) => {
                    KafkaConsumerError { error: &error }.emit();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let lane = &lanes[message.partition().unsigned_abs() as usize % lanes.len()];
            // A full lane holds the reader back: backpressure to Kafka.
            let sent = tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                sent = lane.send(message) => sent,
            };
            if sent.is_err() {
                break;
            }
        }
    }

    /// Batches, stores and dispatches one lane's records until shutdown.
    async fn lane(
        &self,
        mut records: mpsc::Receiver<OwnedMessage>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let first = tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                m = records.recv() => m,
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.linger;
            while batch.len() < self.batch_size {
                match tokio::time::timeout_at(deadline, records.recv()).await {
                    Ok(Some(m)) => batch.push(m),
                    Ok(None) | Err(_) => break,
                }
            }
            let mut prepared: Vec<Prepared> = batch.into_iter().map(|m| self.prepare(m)).collect();
            mark_repeats(&mut prepared);
            let enriched = tokio::select! {
                biased;
                _ = shutdown.changed() => false,
                _ = self.enrich(&mut prepared) => true,
            };
            if !enriched {
                // Not stored, so not committed: consumed again after restart.
                break;
            }
            let Some(created) = self.persist(&prepared, &mut shutdown).await else {
                // Shutting down before the batch was stored: its offsets are
                // not committed, so it will be consumed again.
                break;
            };
            self.store_offsets(&prepared);
            if !created.is_empty() {
                // Waiting here is backpressure from the router alone; the
                // router never waits on an endpoint.
                if let Err(error) = self.router.send(Dispatch(created)).await {
                    tracing::error!(%error, "router unavailable; deliveries stay in the store");
                }
            }
        }
    }

    fn prepare(&self, message: OwnedMessage) -> Prepared {
        let position = SourcePosition {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            appended_at: message
                .timestamp()
                .to_millis()
                .and_then(DateTime::<Utc>::from_timestamp_millis),
        };
        let verdict = match debezium::decode(message.payload()) {
            Ok(Record::Tombstone) => Verdict::Skip(SkipReason::Tombstone),
            Ok(Record::Change(change)) => match self.mapper.map(&change) {
                Ok(Mapped::Event(data)) => Verdict::Event(data),
                Ok(Mapped::Skip(reason)) => Verdict::Skip(reason),
                Err(error) => Verdict::Quarantine(QuarantineReason::Unmappable, error.to_string()),
            },
            Err(error) => Verdict::Quarantine(QuarantineReason::Malformed, error.to_string()),
        };
        Prepared {
            message,
            position,
            verdict,
            dispatch_outcome: None,
            repeat: false,
        }
    }

    /// Asks the dispatch service about the batch's events that need it, all
    /// concurrently, and records each answer on its record.
    async fn enrich(&self, batch: &mut [Prepared]) {
        let Some(dispatch) = &self.dispatch else {
            return;
        };
        let (records, events): (Vec<&mut Option<&'static str>>, Vec<&mut EventData>) = batch
            .iter_mut()
            .filter_map(|p| match &mut p.verdict {
                Verdict::Event(data) if enrich::wants_dispatch(data.event_type) => {
                    Some((&mut p.dispatch_outcome, &mut **data))
                }
                _ => None,
            })
            .unzip();
        if events.is_empty() {
            return;
        }
        let outcomes = enrich::enrich(dispatch, events).await;
        for (record, outcome) in records.into_iter().zip(outcomes) {
            *record = Some(outcome);
        }
    }

    /// Stores a batch, retrying transient failures until it succeeds or the
    /// service shuts down (`None`).
    async fn persist(
        &self,
        batch: &[Prepared],
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Vec<(String, PendingDelivery)>> {
        let mut wait = Duration::from_millis(100);
        loop {
            let result = match self.store_batch(batch).await {
                Err(e) if !e.is_transient() && batch.len() > 1 => {
                    self.store_one_by_one(batch).await
                }
                other => other,
            };
            match result {
                Ok(created) => {
                    count(batch);
                    return Some(created);
                }
                Err(error) => {
                    tracing::error!(%error, records = batch.len(), retry_in = ?wait, "could not store records; retrying");
                    tokio::select! {
                        biased;
                        _ = shutdown.changed() => return None,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn store_batch(
        &self,
        batch: &[Prepared],
    ) -> Result<Vec<(String, PendingDelivery)>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let records: Vec<&Prepared> = batch.iter().collect();
        let created = write(&tx, &records, None, &self.pages).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// After the database refused a batch for its content: each record in its
    /// own transaction, quarantining the ones it refuses.
    async fn store_one_by_one(
        &self,
        batch: &[Prepared],
    ) -> Result<Vec<(String, PendingDelivery)>, StoreError> {
        let mut created = Vec::new();
        let mut client = self.pool.get().await?;
        for p in batch {
            let tx = client.transaction().await?;
            match write(&tx, &[p], None, &self.pages).await {
                Ok(c) => {
                    tx.commit().await?;
                    created.extend(c);
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    drop(tx);
                    let tx = client.transaction().await?;
                    write(
                        &tx,
                        &[p],
                        Some(&format!("rejected by the database: {e}")),
                        &self.pages,
                    )
                    .await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(created)
    }

    fn store_offsets(&self, batch: &[Prepared]) {
        let mut highest: HashMap<(&str, i32), i64> = HashMap::new();
        for p in batch {
            let slot = highest
                .entry((p.message.topic(), p.message.partition()))
                .or_insert(p.message.offset());
            *slot = (*slot).max(p.message.offset());
        }
        for ((topic, partition), offset) in highest {
            // Fails only when the partition was revoked meanwhile; the new
            // owner consumes the batch again and finds it stored.
            if let Err(error) = self.consumer.store_offset(topic, partition, offset) {
                tracing::debug!(%error, topic, partition, offset, "offset not stored");
            }
        }
    }
}

/// Writes records: their events with their deliveries, in a fixed number
/// of statements, and quarantine rows for those whose verdict is quarantine
/// (all of them, when `rejected` says why the database refused them).
/// Answers the deliveries created, in id order, by endpoint.
async fn write(
    tx: &deadpool_postgres::Transaction<'_>,
    records: &[&Prepared],
    rejected: Option<&str>,
    pages: &TrackingPages,
) -> Result<Vec<(String, PendingDelivery)>, StoreError> {
    let quarantines = records.iter().filter_map(|p| {
        let reason = match (&p.verdict, rejected) {
            (_, Some(reason)) => reason,
            (Verdict::Quarantine(_, reason), None) => reason.as_str(),
            _ => return None,
        };
        Some(ingest_store::quarantine(
            &**tx,
            &p.position,
            p.message.key(),
            p.message.payload(),
            reason,
        ))
    });
    let events: Vec<(&Prepared, NewEvent<'_>)> = records
        .iter()
        .filter(|_| rejected.is_none())
        .filter_map(|p| match &p.verdict {
            Verdict::Event(data) if !p.repeat => Some((
                *p,
                NewEvent {
                    data,
                    source: Some(&p.position),
                    dispatch_outcome: p.dispatch_outcome,
                },
            )),
            _ => None,
        })
        .collect();
    let new: Vec<NewEvent<'_>> = events.iter().map(|(_, e)| *e).collect();
    // Issued together: the statements are pipelined on the connection.
    let (stored, _) = futures_util::future::try_join(
        ingest_store::store_events(tx, &new, pages),
        futures_util::future::try_join_all(quarantines),
    )
    .await?;
    let now = Utc::now();
    let mut created = Vec::new();
    for event in stored {
        let (p, new) = &events[event.index];
        let mut data = new.data.clone();
        data.sequence = event.sequence;
        if event.tracking_url.is_some() {
            data.tracking_url = event.tracking_url;
        }
        let data = Arc::new(data);
        created.extend(event.deliveries.into_iter().map(|d| {
            (
                d.endpoint_id,
                PendingDelivery {
                    id: d.delivery_id,
                    order_id: data.order_id.clone(),
                    attempts: 0,
                    charged: 0,
                    next_attempt_at: now,
                    created_at: now,
                    event: data.clone(),
                    appended_at: p.position.appended_at,
                    manual: false,
                },
            )
        }));
    }
    Ok(created)
}

/// Marks every event whose id already appeared earlier in `batch`.
fn mark_repeats(batch: &mut [Prepared]) {
    let mut seen = std::collections::HashSet::new();
    for p in batch {
        if let Verdict::Event(data) = &p.verdict {
            p.repeat = !seen.insert(data.event_id.clone());
        }
    }
}

fn count(batch: &[Prepared]) {
    for p in batch {
        match &p.verdict {
            Verdict::Event(data) => EventIngested {
                event_type: data.event_type,
            }
            .emit(),
            Verdict::Skip(reason) => RecordSkipped { reason: *reason }.emit(),
            Verdict::Quarantine(reason, detail) => RecordQuarantined {
                position: &p.position,
                reason: *reason,
                detail,
            }
            .emit(),
        }
    }
}
