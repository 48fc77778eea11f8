//! The endpoint actor: one per registered endpoint, owning everything about
//! delivering to it (its window of pending deliveries, per-order sequencing,
//! retry timers) and sharing none of it with other endpoints.
//!
//! The store is the source of truth and the actor's memory is a window onto
//! it. Work arrives pushed by the router while the actor is in sync with the
//! store; when the window is full, or after a start or a restart, the actor is
//! *behind* and pages its pending deliveries from the store in id order until
//! it has caught up.

mod attempt;
mod backoff;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use chrono::Utc;

pub use attempt::{AttemptResult, Envelope, Failure, WebhookClient};
pub use backoff::RetryPolicy;

use super::recorder::{Record, Recorder};
use super::DeliveryDeps;
use crate::schema;
use crate::store::deliveries::{
    self, AttemptRecord, Outcome, PendingDelivery, Transition, Trigger,
};
use crate::store::endpoints::Endpoint;

/// A new delivery for this endpoint, pushed by the router right after it was
/// stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver(pub PendingDelivery);

/// Instructions from the router.
#[derive(Message)]
#[rtype(result = "()")]
pub enum Control {
    /// Deliveries were left in the store (a push found the mailbox full):
    /// page through it.
    CatchUp,
    /// The endpoint's settings changed (URL, secrets, version).
    Reconfigure(Arc<Endpoint>),
    /// The endpoint was deleted or disabled: stop delivering. Attempts in
    /// flight finish and are recorded.
    Retire,
}

/// Where a held delivery stands.
enum HeldState {
    /// Due: may start as soon as its order and the concurrency limit allow.
    Ready,
    /// An HTTP attempt is under way.
    InFlight,
    /// Waiting for its retry timer.
    Waiting(SpawnHandle),
    /// Dead; its dead letter is being published.
    Burying,
}

struct Held {
    delivery: PendingDelivery,
    state: HeldState,
}

/// How the actor's window relates to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    /// Every pending delivery of this endpoint is held (or on its way in a
    /// push); pushes are accepted.
    InSync,
    /// The store holds pending deliveries that are not in the window; pushes
    /// are dropped (they are durable) and the store is paged from `cursor`.
    Behind {
        /// The last delivery id seen by the current scan.
        cursor: i64,
        /// A page query is running.
        scanning: bool,
        /// A push was dropped while scanning: scan again before declaring sync.
        missed: bool,
    },
}

impl Sync {
    fn behind() -> Self {
        Sync::Behind {
            cursor: 0,
            scanning: false,
            missed: false,
        }
    }
}

/// Delivers to one endpoint. See the module documentation.
pub struct EndpointActor {
    endpoint: Arc<Endpoint>,
    deps: DeliveryDeps,
    recorder: Addr<Recorder>,
    http: WebhookClient,
    /// Pending deliveries in memory, in id order, at most
    /// `delivery.mailbox_capacity` of them.
    held: BTreeMap<i64, Held>,
    /// Attempts under way, at most `delivery.max_in_flight`.
    in_flight: usize,
    sync: Sync,
    /// Set by [`Control::Retire`]; nothing new starts.
    retired: bool,
}

impl EndpointActor {
    /// An actor for `endpoint`, using the worker's HTTP client and recorder.
    pub fn new(
        endpoint: Arc<Endpoint>,
        deps: DeliveryDeps,
        http: WebhookClient,
        recorder: Addr<Recorder>,
    ) -> Self {
        EndpointActor {
            endpoint,
            deps,
            recorder,
            http,
            held: BTreeMap::new(),
            in_flight: 0,
            sync: Sync::behind(),
            retired: false,
        }
    }

    fn window(&self) -> usize {
        self.deps.config.mailbox_capacity
    }

    /// Takes a delivery into the window, ready now or with a timer for its
    /// scheduled retry.
    fn hold(&mut self, delivery: PendingDelivery, ctx: &mut Context<Self>) {
        let id = delivery.id;
        let wait = (delivery.next_attempt_at - Utc::now())
            .to_std()
            .unwrap_or_default();
        let state = if wait.is_zero() {
            HeldState::Ready
        } else {
            HeldState::Waiting(ctx.run_later(wait, move |act, ctx| act.wake(id, ctx)))
        };
        self.held.insert(id, Held { delivery, state });
    }

    fn wake(&mut self, id: i64, ctx: &mut Context<Self>) {
        if let Some(h) = self.held.get_mut(&id) {
            if matches!(h.state, HeldState::Waiting(_)) {
                h.state = HeldState::Ready;
            }
        }
        self.pump(ctx);
    }

    /// Starts every delivery that may start: due, first of its order among
    /// the held ones, within the concurrency limit. Then refills the window
    /// from the store if it is behind and has room.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        let limit = self.deps.config.max_in_flight;
        let mut starts = Vec::new();
        {
            // A delivery waits for every earlier held delivery of its order,
            // whatever that one's state: in flight, waiting for a retry, or
            // being buried.
            let mut orders_seen: HashSet<&str> = HashSet::new();
            for (id, h) in &self.held {
                if self.in_flight + starts.len() >= limit {
                    break;
                }
                let first_of_order = orders_seen.insert(h.delivery.order_id.as_str());
                if first_of_order && matches!(h.state, HeldState::Ready) {
                    starts.push(*id);
                }
            }
        }
        for id in starts {
            self.start(id, ctx);
        }
        self.refill(ctx);
    }

    fn start(&mut self, id: i64, ctx: &mut Context<Self>) {
        let max_age =
            chrono::Duration::from_std(self.deps.config.max_age).unwrap_or(chrono::Duration::MAX);
        let Some(h) = self.held.get_mut(&id) else {
            return;
        };
        if Utc::now() - h.delivery.created_at > max_age {
            let reason = format!(
                "not delivered within the maximum age of {:?}",
                self.deps.config.max_age
            );
            self.bury(id, None, reason, ctx);
            return;
        }
        h.state = HeldState::InFlight;
        self.in_flight += 1;
        let event = h.delivery.event.clone();
        let endpoint = self.endpoint.clone();
        let http = self.http.clone();
        // Rendered per attempt in the endpoint's own version, so the signature
        // always covers exactly the bytes this endpoint receives.
        let body = Bytes::from(schema::render(&event, endpoint.schema_version));
        let deprecation = self.deps.lifecycle.deprecation(endpoint.schema_version);
        async move {
            let envelope = Envelope {
                event_id: &event.event_id,
                event_type: event.event_type,
                schema_version: endpoint.schema_version,
                deprecation,
                secrets: &endpoint.secrets,
            };
            http.post(&endpoint.url, &envelope, body).await
        }
        .into_actor(self)
        .map(move |result, act, ctx| act.finish(id, result, ctx))
        .spawn(ctx);
    }

    /// Records an attempt and moves its delivery on: done, retry later, or dead.
    fn finish(&mut self, id: i64, result: AttemptResult, ctx: &mut Context<Self>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(h) = self.held.get_mut(&id) else {
            self.pump(ctx);
            return;
        };
        h.delivery.attempts += 1;
        let attempts = h.delivery.attempts;
        let record = attempt_record(attempts, &result, self.deps.config.response_excerpt_bytes);
        observe(&self.endpoint, &h.delivery, &result);
        match &result.failure {
            None => {
                self.held.remove(&id);
                self.record(Outcome {
                    delivery_id: id,
                    attempts,
                    attempt: Some(record),
                    transition: Transition::Delivered,
                    last_error: None,
                });
            }
            Some(failure) => {
                let error = failure.to_string();
                match self.deps.policy.delay_after(attempts) {
                    Some(delay) => {
                        let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                        h.delivery.next_attempt_at = at;
                        h.state = HeldState::Waiting(
                            ctx.run_later(delay, move |act, ctx| act.wake(id, ctx)),
                        );
                        self.record(Outcome {
                            delivery_id: id,
                            attempts,
                            attempt: Some(record),
                            transition: Transition::RetryAt(at),
                            last_error: Some(error),
                        });
                    }
                    None => {
                        let reason = format!("{attempts} attempts failed; last: {error}");
                        self.bury(id, Some(record), reason, ctx);
                    }
                }
            }
        }
        self.pump(ctx);
    }

    /// Publishes a dead delivery to the dead-letter topic, then marks it dead.
    /// Publishing is retried until it succeeds, so no dead letter is lost.
    fn bury(
        &mut self,
        id: i64,
        attempt: Option<AttemptRecord>,
        reason: String,
        ctx: &mut Context<Self>,
    ) {
        let Some(h) = self.held.get_mut(&id) else {
            return;
        };
        h.state = HeldState::Burying;
        let delivery = h.delivery.clone();
        let endpoint = self.endpoint.clone();
        let dlq = self.deps.dead_letters.clone();
        let retry_reason = reason.clone();
        async move { dlq.publish(&endpoint, &delivery, &reason).await.map(|()| reason) }
            .into_actor(self)
            .map(move |published, act, ctx| match published {
                Ok(reason) => {
                    if let Some(h) = act.held.remove(&id) {
                        metrics::counter!("trackwire_dead_letters_total", "partner" => act.endpoint.partner_id.clone())
                            .increment(1);
                        tracing::warn!(
                            delivery_id = id,
                            event_id = %h.delivery.event.event_id,
                            endpoint_id = %act.endpoint.id,
                            partner_id = %act.endpoint.partner_id,
                            %reason,
                            "delivery is dead"
                        );
                        act.record(Outcome {
                            delivery_id: id,
                            attempts: h.delivery.attempts,
                            attempt,
                            transition: Transition::Dead,
                            last_error: Some(reason),
                        });
                    }
                    act.pump(ctx);
                }
                Err(error) => {
                    tracing::error!(delivery_id = id, %error, "could not publish a dead letter; retrying");
                    ctx.run_later(Duration::from_secs(2), move |act, ctx| {
                        act.bury(id, attempt, retry_reason, ctx);
                    });
                }
            })
            .spawn(ctx);
    }

    fn record(&self, outcome: Outcome) {
        // The recorder's mailbox is unbounded by design: outcomes must never
        // be dropped, and the recorder batches them into few writes.
        self.recorder.do_send(Record(outcome));
    }

    /// Pages pending deliveries from the store while behind and there is room.
    fn refill(&mut self, ctx: &mut Context<Self>) {
        let Sync::Behind {
            cursor,
            scanning: false,
            ..
        } = self.sync
        else {
            return;
        };
        let room = self.window().saturating_sub(self.held.len());
        if room == 0 || self.retired {
            return;
        }
        if let Sync::Behind { scanning, .. } = &mut self.sync {
            *scanning = true;
        }
        let pool = self.deps.pool.clone();
        let endpoint_id = self.endpoint.id.clone();
        let limit = room as i64;
        async move {
            let client = pool.get().await?;
            deliveries::pending_for_endpoint(&**client, &endpoint_id, cursor, limit).await
        }
        .into_actor(self)
        .map(move |page, act, ctx| act.on_page(page, limit, ctx))
        .spawn(ctx);
    }

    fn on_page(
        &mut self,
        page: Result<Vec<PendingDelivery>, crate::store::StoreError>,
        limit: i64,
        ctx: &mut Context<Self>,
    ) {
        let Sync::Behind {
            mut cursor, missed, ..
        } = self.sync
        else {
            return;
        };
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(endpoint_id = %self.endpoint.id, %error, "could not read pending deliveries; retrying");
                self.sync = Sync::Behind {
                    cursor,
                    scanning: true,
                    missed,
                };
                ctx.run_later(Duration::from_secs(1), |act, ctx| {
                    if let Sync::Behind { scanning, .. } = &mut act.sync {
                        *scanning = false;
                    }
                    act.pump(ctx);
                });
                return;
            }
        };
        let complete = (page.len() as i64) < limit;
        for delivery in page {
            cursor = cursor.max(delivery.id);
            if !self.held.contains_key(&delivery.id) && !self.retired {
                self.hold(delivery, ctx);
            }
        }
        self.sync = match (complete, missed) {
            (true, false) => Sync::InSync,
            // A push was dropped during the scan and its row may have been
            // committed after the page was read: look again from the start.
            (true, true) => Sync::behind(),
            (false, _) => Sync::Behind {
                cursor,
                scanning: false,
                missed,
            },
        };
        self.pump(ctx);
    }
}

/// Counts, times and logs one attempt.
fn observe(endpoint: &Endpoint, delivery: &PendingDelivery, result: &AttemptResult) {
    let outcome = match &result.failure {
        None => "acked",
        Some(f) => f.code(),
    };
    let labels = [
        ("partner", endpoint.partner_id.clone()),
        ("endpoint", endpoint.id.clone()),
        ("event_type", delivery.event.event_type.as_str().to_owned()),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("trackwire_delivery_attempts_total", &labels).increment(1);
    metrics::histogram!("trackwire_attempt_duration_seconds", "outcome" => outcome)
        .record(result.latency.as_secs_f64());
    if result.acked() {
        if let Some(appended) = delivery.appended_at {
            let e2e = (Utc::now() - appended).to_std().unwrap_or_default();
            metrics::histogram!("trackwire_end_to_end_latency_seconds", "event_type" => delivery.event.event_type.as_str())
                    .record(e2e.as_secs_f64());
        }
    }
    tracing::debug!(
        event_id = %delivery.event.event_id,
        partner_id = %endpoint.partner_id,
        endpoint_id = %endpoint.id,
        delivery_id = delivery.id,
        attempt = delivery.attempts,
        status = result.status,
        latency_ms = result.latency.as_millis() as u64,
        outcome,
        "attempt finished"
    );
}

fn attempt_record(
    attempt_number: i32,
    result: &AttemptResult,
    excerpt_bytes: usize,
) -> AttemptRecord {
    AttemptRecord {
        attempt_number,
        trigger: Trigger::Automatic,
        started_at: result.started_at,
        latency_ms: i32::try_from(result.latency.as_millis()).unwrap_or(i32::MAX),
        http_status: result.status.map(i32::from),
        error_class: result.failure.as_ref().map(Failure::code),
        error_detail: result.failure.as_ref().map(ToString::to_string),
        response_excerpt: result.excerpt.as_ref().map(|e| truncate(e, excerpt_bytes)),
    }
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

impl Actor for EndpointActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.window());
        tracing::debug!(endpoint_id = %self.endpoint.id, "endpoint actor started");
        self.pump(ctx);
    }
}

impl Supervised for EndpointActor {
    /// Whatever was in memory is dropped; the store still has it, so the
    /// actor starts behind and pages it back in.
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        metrics::counter!("trackwire_actor_restarts_total", "actor" => "endpoint").increment(1);
        tracing::warn!(endpoint_id = %self.endpoint.id, "endpoint actor restarting");
        self.held.clear();
        self.in_flight = 0;
        self.sync = Sync::behind();
    }
}

impl Handler<Deliver> for EndpointActor {
    type Result = ();

    fn handle(&mut self, Deliver(delivery): Deliver, ctx: &mut Self::Context) {
        if self.retired {
            return;
        }
        let room = self.held.len() < self.window();
        match &mut self.sync {
            Sync::InSync if room => {
                self.hold(delivery, ctx);
                self.pump(ctx);
            }
            Sync::InSync => {
                metrics::counter!("trackwire_window_overflows_total").increment(1);
                self.sync = Sync::behind();
            }
            Sync::Behind {
                scanning, missed, ..
            } => {
                if *scanning {
                    *missed = true;
                }
            }
        }
    }
}

impl Handler<Control> for EndpointActor {
    type Result = ();

    fn handle(&mut self, msg: Control, ctx: &mut Self::Context) {
        match msg {
            Control::CatchUp => {
                match &mut self.sync {
                    Sync::InSync => self.sync = Sync::behind(),
                    Sync::Behind {
                        scanning: true,
                        missed,
                        ..
                    } => *missed = true,
                    Sync::Behind { .. } => {}
                }
                self.pump(ctx);
            }
            Control::Reconfigure(endpoint) => {
                self.endpoint = endpoint;
                self.pump(ctx);
            }
            Control::Retire => {
                self.retired = true;
                for (_, h) in std::mem::take(&mut self.held) {
                    if let HeldState::Waiting(handle) = h.state {
                        ctx.cancel_future(handle);
                    }
                }
                tracing::info!(endpoint_id = %self.endpoint.id, "endpoint retired");
            }
        }
    }
}
