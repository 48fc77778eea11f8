//! The recorder: writes attempt outcomes to the store in batches, so that
//! recording every attempt costs a handful of statements per batch rather
//! than per attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix::prelude::*;
use deadpool_postgres::Pool;

use crate::store::deliveries::{self, Outcome};
use crate::store::StoreError;
use crate::telemetry::events::{OutcomeWriteFailed, OutcomesRecorded};

/// An outcome to write, and the sender's account of what it has not seen
/// written yet.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record {
    /// The outcome.
    pub outcome: Outcome,
    /// Told once the outcome is written.
    pub unwritten: Unwritten,
}

/// The deliveries whose outcomes an endpoint actor has handed to the
/// recorder and that are not written yet. Until they are, the store still
/// shows those deliveries as they were before the attempt, so a page read
/// meanwhile must not take them for work still to do.
#[derive(Debug, Clone, Default)]
pub struct Unwritten(Arc<Mutex<HashMap<i64, u32>>>);

impl Unwritten {
    /// An outcome of `delivery_id` is on its way to the recorder.
    pub fn add(&self, delivery_id: i64) {
        *self.lock().entry(delivery_id).or_default() += 1;
    }

    /// Whether an outcome of `delivery_id` is still to be written.
    pub fn contains(&self, delivery_id: i64) -> bool {
        self.lock().contains_key(&delivery_id)
    }

    /// How many deliveries have outcomes still to be written.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether every outcome handed over is written.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn written(&self, delivery_id: i64) {
        let mut map = self.lock();
        if let Some(n) = map.get_mut(&delivery_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&delivery_id);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, u32>> {
        // The map stays consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Largest batch written in one transaction.
const MAX_BATCH: usize = 1_000;
/// How long the first outcome of a batch waits for company.
const LINGER: Duration = Duration::from_millis(2);

/// Buffers outcomes and writes them. One flush is in flight at a time, so a
/// delivery's outcomes reach the store in the order they happened.
pub struct Recorder {
    pool: Pool,
    /// Outcomes not yet written, oldest first.
    buffer: Vec<Record>,
    /// A write is under way.
    flushing: bool,
    /// A flush is scheduled by the linger timer.
    scheduled: bool,
    /// Consecutive failed writes, for the retry backoff.
    failures: u32,
}

impl Recorder {
    /// A recorder writing through `pool`.
    pub fn new(pool: Pool) -> Self {
        Recorder {
            pool,
            buffer: Vec::new(),
            flushing: false,
            scheduled: false,
            failures: 0,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing || self.buffer.is_empty() {
            return;
        }
        self.flushing = true;
        let take = self.buffer.len().min(MAX_BATCH);
        let batch: Vec<Record> = self.buffer.drain(..take).collect();
        let pool = self.pool.clone();
        async move {
            let outcomes: Vec<&Outcome> = batch.iter().map(|r| &r.outcome).collect();
            let result = write(&pool, &outcomes).await;
            (batch, result)
        }
        .into_actor(self)
        .map(|(batch, result), act, ctx| {
            act.flushing = false;
            match result {
                Ok(()) => {
                    act.failures = 0;
                    OutcomesRecorded { count: batch.len() }.emit();
                    for record in &batch {
                        record.unwritten.written(record.outcome.delivery_id);
                    }
                    act.flush(ctx);
                }
                Err(error) => {
                    // Put the batch back in front: nothing is dropped, and
                    // order is kept.
                    act.failures += 1;
                    let wait = Duration::from_millis(100 * 2u64.pow(act.failures.min(6)));
                    OutcomeWriteFailed {
                        count: batch.len(),
                        error: &error,
                        retry_in: wait,
                    }
                    .emit();
                    act.buffer.splice(0..0, batch);
                    act.scheduled = true;
                    ctx.run_later(wait, |act, ctx| {
                        act.scheduled = false;
                        act.flush(ctx);
                    });
                }
            }
        })
        .spawn(ctx);
    }
}

async fn write(pool: &Pool, batch: &[&Outcome]) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    deliveries::record_outcomes(&*tx, batch).await?;
    tx.commit().await?;
    Ok(())
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Record> for Recorder {
    type Result = ();

    fn handle(&mut self, record: Record, ctx: &mut Self::Context) {
        self.buffer.push(record);
        if self.buffer.len() >= MAX_BATCH {
            self.flush(ctx);
        } else if !self.scheduled && !self.flushing {
            self.scheduled = true;
            ctx.run_later(LINGER, |act, ctx| {
                act.scheduled = false;
                act.flush(ctx);
            });
        }
    }
}

/// Asks for everything buffered to be written; answers whether the buffer is
/// empty and no write is under way. Used at shutdown, polled until true.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Drain;

impl Handler<Drain> for Recorder {
    type Result = bool;

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) -> bool {
        self.flush(ctx);
        self.buffer.is_empty() && !self.flushing
    }
}
