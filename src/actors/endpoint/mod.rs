//! The endpoint actor: one per registered endpoint, owning everything about
//! delivering to it (its window of pending deliveries, per-order sequencing,
//! retry timers, circuit breaker, ACK rate and at-risk flag) and sharing none
//! of it with other endpoints.
//!
//! The store is the source of truth and the actor's memory is a window onto
//! it. Work arrives pushed by the router while the actor is in sync with the
//! store; when the window is full, or after a start or a restart, the actor is
//! *behind* and pages its pending deliveries from the store in id order until
//! it has caught up.
//!
//! # Layout
//! - `sending`: choosing what may start, the attempt, its outcome, burial.
//! - `window`: the in-memory window and paging from the store.
//! - `health`: breaker, ACK rate, at-risk flag, their metrics and storage.
//! - `answers`: disabling on `410 Gone`, pausing on `Retry-After`.
//! - `attempt`, `backoff`, `breaker`, `ack_rate`, `at_risk`,
//!   `response_rules`, `rate_limit`: the pure parts.

mod ack_rate;
mod answers;
mod at_risk;
mod attempt;
mod backoff;
mod breaker;
mod health;
mod rate_limit;
mod response_rules;
mod sending;
mod ssrf;
mod window;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

pub use ack_rate::{AckRate, Snapshot as AckSnapshot};
pub use answers::GONE_REASON;
pub use at_risk::{AtRisk, AtRiskPolicy, Change as AtRiskChange};
pub use attempt::{AttemptResult, Envelope, Failure, WebhookClient};
pub use backoff::RetryPolicy;
pub use breaker::{Breaker, BreakerPolicy, State as BreakerState};
pub use sending::attempt_record;
pub use ssrf::{BlockedAddress, SsrfGuard};

use super::recorder::{Record, Recorder, Unwritten};
use super::DeliveryDeps;
use crate::store::deliveries::{Outcome, PendingDelivery};
use crate::store::endpoints::Endpoint;
use crate::telemetry::events::{ActorRestarted, DeadLetterSeriesStarted, EndpointDisabled};

/// A new delivery for this endpoint, pushed by the router right after it was
/// stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver(pub PendingDelivery);

/// Instructions from the router.
#[derive(Message)]
#[rtype(result = "()")]
pub enum Control {
    /// Deliveries were left in the store (a push found the mailbox full, a
    /// person asked for a retry, another process stored work for us): page
    /// through it.
    CatchUp,
    /// The endpoint's settings changed (URL, secrets, version).
    Reconfigure(Arc<Endpoint>),
    /// The endpoint was deleted, disabled or handed to another process: stop
    /// delivering. Attempts in flight finish and are recorded.
    Retire,
}

/// How many attempts are under way or have outcomes not yet written, for a
/// graceful shutdown and a shard handover: whoever runs the endpoint next
/// reads the store, which must already say what became of them.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct InFlight;

/// Where a held delivery stands.
enum HeldState {
    /// Due: may start as soon as its order, the breaker and the concurrency
    /// limit allow.
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
    /// Outcomes handed to the recorder and not written yet.
    unwritten: Unwritten,
    http: WebhookClient,
    /// Pending deliveries in memory, in id order, at most
    /// `delivery.mailbox_capacity` of them.
    held: BTreeMap<i64, Held>,
    /// Attempts under way, at most `delivery.max_in_flight`.
    in_flight: usize,
    /// The last attempt to finish failed: one attempt at a time until one
    /// succeeds.
    failing: bool,
    sync: Sync,
    /// Set by [`Control::Retire`]; nothing new starts.
    retired: bool,
    /// The endpoint answered `410 Gone` and is being disabled.
    disabling: bool,
    /// The endpoint asked (`Retry-After`) that nothing be sent before then.
    paused_until: Option<Instant>,
    /// The wake-up at the end of the pause.
    pause_timer: Option<SpawnHandle>,
    /// The partner's rate limit, when it set one.
    bucket: Option<rate_limit::TokenBucket>,
    /// The wake-up for the next token.
    rate_timer: Option<SpawnHandle>,
    breaker: Breaker,
    /// When the breaker last opened (for the at-risk rule), while it is not
    /// closed.
    open_since: Option<Instant>,
    /// A wake-up is scheduled for when the breaker allows a probe.
    probe_timer: Option<SpawnHandle>,
    ack: AckRate,
    at_risk: AtRisk,
    last_success: Option<chrono::DateTime<chrono::Utc>>,
    last_failure: Option<chrono::DateTime<chrono::Utc>>,
    /// A snapshot has been written since the actor started: the first one
    /// goes out with the first attempt rather than at the next tick, so a
    /// new endpoint's health shows at once.
    snapshot_written: bool,
    /// The last snapshot written: an unchanged one is not written again, so
    /// idle endpoints cost the store nothing.
    last_snapshot: Option<crate::store::health::Snapshot>,
}

impl EndpointActor {
    /// An actor for `endpoint`, using the worker's HTTP client and recorder.
    pub fn new(
        endpoint: Arc<Endpoint>,
        deps: DeliveryDeps,
        http: WebhookClient,
        recorder: Addr<Recorder>,
    ) -> Self {
        let breaker = Breaker::new(deps.breaker.clone());
        let ack = AckRate::new(deps.health.ack_window);
        let bucket = endpoint
            .rate_limit
            .map(|limit| rate_limit::TokenBucket::new(limit, Instant::now()));
        EndpointActor {
            endpoint,
            deps,
            recorder,
            unwritten: Unwritten::default(),
            http,
            held: BTreeMap::new(),
            in_flight: 0,
            failing: false,
            sync: Sync::behind(),
            retired: false,
            disabling: false,
            paused_until: None,
            pause_timer: None,
            bucket,
            rate_timer: None,
            breaker,
            open_since: None,
            probe_timer: None,
            ack,
            at_risk: AtRisk::default(),
            last_success: None,
            last_failure: None,
            snapshot_written: false,
            last_snapshot: None,
        }
    }

    fn window(&self) -> usize {
        self.deps.config.mailbox_capacity
    }

    fn record(&self, outcome: Outcome) {
        // The recorder's mailbox is unbounded by design: outcomes must never
        // be dropped, and the recorder batches them into few writes.
        self.unwritten.add(outcome.delivery_id);
        self.recorder.do_send(Record {
            outcome,
            unwritten: self.unwritten.clone(),
        });
    }

    /// Runs `f`; a panic inside it stops the actor, and its supervisor
    /// restarts it from the store's state. Other endpoints are untouched.
    fn guarded(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut Self, &mut Context<Self>)) {
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| f(self, ctx))) {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(
                endpoint_id = %self.endpoint.id,
                partner_id = %self.endpoint.partner_id,
                panic = %message,
                "endpoint actor panicked; restarting it from the store"
            );
            ctx.stop();
        }
    }
}

impl Actor for EndpointActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.window());
        tracing::debug!(endpoint_id = %self.endpoint.id, "endpoint actor started");
        DeadLetterSeriesStarted {
            endpoint: &self.endpoint,
        }
        .emit();
        EndpointDisabled::series_started(&self.endpoint);
        self.start_health(ctx);
        self.guarded(ctx, |act, ctx| act.pump(ctx));
    }
}

impl Supervised for EndpointActor {
    /// Whatever was in memory is dropped; the store still has it, so the
    /// actor starts behind and pages it back in. The breaker starts closed.
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        ActorRestarted {
            actor: "endpoint",
            endpoint: Some(&self.endpoint),
        }
        .emit();
        self.held.clear();
        self.in_flight = 0;
        self.failing = false;
        self.sync = Sync::behind();
        self.breaker.reset();
        self.open_since = None;
        self.probe_timer = None;
        self.paused_until = None;
        self.pause_timer = None;
        self.rate_timer = None;
        self.report_depth();
    }
}

impl Handler<Deliver> for EndpointActor {
    type Result = ();

    fn handle(&mut self, Deliver(delivery): Deliver, ctx: &mut Self::Context) {
        self.guarded(ctx, |act, ctx| act.accept(delivery, ctx));
    }
}

impl Handler<Control> for EndpointActor {
    type Result = ();

    fn handle(&mut self, msg: Control, ctx: &mut Self::Context) {
        self.guarded(ctx, |act, ctx| match msg {
            Control::CatchUp => act.catch_up(ctx),
            Control::Reconfigure(endpoint) => {
                act.set_rate_limit(endpoint.rate_limit);
                act.endpoint = endpoint;
                act.pump(ctx);
            }
            Control::Retire => act.retire(ctx),
        });
    }
}

impl Handler<InFlight> for EndpointActor {
    type Result = usize;

    fn handle(&mut self, _: InFlight, _: &mut Self::Context) -> usize {
        self.in_flight + self.unwritten.len()
    }
}
