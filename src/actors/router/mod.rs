//! The router: owns the routing table (endpoint id → its actor) and hands each
//! newly stored delivery to its endpoint's actor without ever waiting on one.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::dev::SendError;
use actix::prelude::*;

use super::endpoint::{Control, Deliver, EndpointActor, InFlight, WebhookClient};
use super::recorder::Recorder;
use super::DeliveryDeps;
use crate::store::endpoints::{self, Endpoint};
use crate::store::StoreError;
use crate::telemetry::events::{MailboxOverflow, OverflowStage};

mod messages;

pub use messages::*;

/// A delivery worker: a thread with its own event loop, HTTP client and
/// recorder. Endpoint actors are spread across the workers.
#[derive(Clone)]
pub struct Worker {
    /// The thread's event loop.
    pub arbiter: ArbiterHandle,
    /// Connections made by this worker's actors.
    pub http: WebhookClient,
    /// Writes this worker's outcomes.
    pub recorder: Addr<Recorder>,
}

struct Route {
    endpoint: Arc<Endpoint>,
    deliver: Recipient<Deliver>,
    control: Recipient<Control>,
    in_flight: Recipient<InFlight>,
}

/// See the module documentation.
pub struct Router {
    deps: DeliveryDeps,
    workers: Vec<Worker>,
    /// The running endpoint actors.
    routes: HashMap<String, Route>,
    /// Endpoints whose mailbox was full when a delivery was pushed: each is
    /// told to catch up from the store as soon as its mailbox has room.
    parked: HashSet<String>,
    /// Round-robin placement of new actors on workers.
    next_worker: usize,
    /// How often parked endpoints are re-offered and the table re-read.
    refill_interval: Duration,
    reload_interval: Duration,
    /// Set by [`Quiesce`]: no actor starts any more.
    shutting_down: bool,
    /// Shards in the cluster.
    shards: u32,
    /// Shards owned by this process; `None` until the cluster assigns some.
    owned: Option<BTreeSet<u32>>,
    /// Reloads started; a result is applied only if no newer one started.
    reloads: u64,
}

impl Router {
    /// A router placing endpoint actors on `workers` (at least one).
    ///
    /// With `shards: None` the router owns every endpoint (a single process,
    /// or tests); otherwise it waits for [`SetShards`].
    pub fn new(deps: DeliveryDeps, workers: Vec<Worker>, reload_interval: Duration) -> Self {
        Self::sharded(deps, workers, reload_interval, 1, Some(BTreeSet::from([0])))
    }

    /// A router that runs actors only for the endpoints of `owned` shards out
    /// of `shards`.
    pub fn sharded(
        deps: DeliveryDeps,
        workers: Vec<Worker>,
        reload_interval: Duration,
        shards: u32,
        owned: Option<BTreeSet<u32>>,
    ) -> Self {
        let refill_interval = deps.config.refill_interval;
        Router {
            deps,
            workers,
            routes: HashMap::new(),
            parked: HashSet::new(),
            next_worker: 0,
            refill_interval,
            reload_interval,
            shutting_down: false,
            shards: shards.max(1),
            owned,
            reloads: 0,
        }
    }

    fn start_actor(&mut self, endpoint: Arc<Endpoint>) {
        let worker = self.workers[self.next_worker % self.workers.len()].clone();
        self.next_worker += 1;
        let deps = self.deps.clone();
        let for_actor = endpoint.clone();
        let addr = Supervisor::start_in_arbiter(&worker.arbiter, move |_| {
            EndpointActor::new(for_actor, deps, worker.http, worker.recorder)
        });
        tracing::info!(endpoint_id = %endpoint.id, partner_id = %endpoint.partner_id, "endpoint actor started");
        self.routes.insert(
            endpoint.id.clone(),
            Route {
                endpoint,
                deliver: addr.clone().recipient(),
                control: addr.clone().recipient(),
                in_flight: addr.recipient(),
            },
        );
    }

    fn retire(&mut self, id: &str) {
        if let Some(route) = self.routes.remove(id) {
            // Sent with do_send: retirement must not be lost to a full mailbox.
            route.control.do_send(Control::Retire);
            self.parked.remove(id);
            tracing::info!(endpoint_id = %id, "endpoint actor retired");
        }
    }

    fn owns(&self, endpoint_id: &str) -> bool {
        self.owned
            .as_ref()
            .is_some_and(|o| o.contains(&crate::cluster::shard_of(endpoint_id, self.shards)))
    }

    fn apply(&mut self, endpoint: Endpoint) {
        if self.shutting_down {
            return;
        }
        if !self.owns(&endpoint.id) {
            self.retire(&endpoint.id);
            return;
        }
        match self.routes.get_mut(&endpoint.id) {
            None => self.start_actor(Arc::new(endpoint)),
            Some(route) if changed(&route.endpoint, &endpoint) => {
                let endpoint = Arc::new(endpoint);
                route.endpoint = endpoint.clone();
                route.control.do_send(Control::Reconfigure(endpoint));
            }
            Some(_) => {}
        }
    }

    fn apply_all(&mut self, active: Vec<Endpoint>) {
        if self.shutting_down {
            return;
        }
        let keep: HashSet<String> = active
            .iter()
            .filter(|e| self.owns(&e.id))
            .map(|e| e.id.clone())
            .collect();
        let gone: Vec<String> = self
            .routes
            .keys()
            .filter(|id| !keep.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            self.retire(&id);
        }
        for endpoint in active {
            self.apply(endpoint);
        }
    }

    /// Re-reads every active endpoint. Runs beside the mailbox (a reload of
    /// a large table must not hold up ingest's dispatches); only the newest
    /// reload's result is applied.
    fn reload(&mut self, ctx: &mut Context<Self>) {
        self.reloads += 1;
        let generation = self.reloads;
        let pool = self.deps.pool.clone();
        async move {
            let client = pool.get().await?;
            endpoints::list_active(&**client).await
        }
        .into_actor(self)
        .map(
            move |result: Result<Vec<Endpoint>, StoreError>, act, _| match result {
                Ok(_) if generation != act.reloads => {}
                Ok(active) => act.apply_all(active),
                Err(error) => tracing::warn!(%error, "could not reload endpoints"),
            },
        )
        .spawn(ctx);
    }

    /// Asks a running actor to page the store; parks it if its mailbox is
    /// full.
    fn catch_up(&mut self, endpoint_id: String) {
        let Some(route) = self.routes.get(&endpoint_id) else {
            return;
        };
        match route.control.try_send(Control::CatchUp) {
            Ok(()) | Err(SendError::Closed(_)) => {}
            // The refill timer offers the catch-up again when there is room.
            Err(SendError::Full(_)) => {
                self.parked.insert(endpoint_id);
            }
        }
    }

    /// Tells the owners of these endpoints, wherever they run, that work is
    /// waiting in the store.
    fn notify_elsewhere(&self, mut endpoint_ids: Vec<String>) {
        if endpoint_ids.is_empty() {
            return;
        }
        endpoint_ids.sort();
        endpoint_ids.dedup();
        let pool = self.deps.pool.clone();
        actix_rt::spawn(async move {
            let result = async {
                let client = pool.get().await?;
                crate::store::cluster::notify_work(&**client, &endpoint_ids).await
            }
            .await;
            if let Err(error) = result {
                // The owner's periodic catch-up still finds the work.
                tracing::debug!(%error, "could not notify the owners of new work");
            }
        });
    }

    /// Re-offers parked endpoints their catch-up.
    fn refill(&mut self) {
        let routes = &self.routes;
        self.parked.retain(|id| match routes.get(id) {
            None => false,
            Some(route) => match route.control.try_send(Control::CatchUp) {
                Ok(()) => false,
                Err(SendError::Full(_)) => true,
                Err(SendError::Closed(_)) => false,
            },
        });
    }
}

/// Whether the actor needs the new settings.
fn changed(old: &Endpoint, new: &Endpoint) -> bool {
    old.url != new.url
        || old.schema_version != new.schema_version
        || old.updated_at != new.updated_at
        || old.secrets.len() != new.secrets.len()
        || old
            .secrets
            .iter()
            .zip(&new.secrets)
            .any(|(a, b)| a.as_str() != b.as_str())
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Ingest waits on the router (backpressure), never on an endpoint.
        ctx.set_mailbox_capacity(64);
        ctx.run_interval(self.refill_interval, |act, _| act.refill());
        // Change notifications are the fast path; this is the safety net for
        // a notification lost while the listening connection was down.
        ctx.run_interval(self.reload_interval, |act, ctx| act.reload(ctx));
    }
}

impl Handler<Dispatch> for Router {
    type Result = ();

    fn handle(&mut self, Dispatch(deliveries): Dispatch, _: &mut Self::Context) {
        let mut elsewhere = Vec::new();
        for (endpoint_id, delivery) in deliveries {
            if self.parked.contains(&endpoint_id) {
                // Already behind: the actor will find it in the store.
                continue;
            }
            let Some(route) = self.routes.get(&endpoint_id) else {
                // Another process owns it, or its actor is not started yet
                // (created moments ago): whoever runs it pages the store.
                elsewhere.push(endpoint_id);
                continue;
            };
            match route.deliver.try_send(Deliver(delivery)) {
                Ok(()) => {}
                Err(SendError::Full(_)) => {
                    MailboxOverflow {
                        endpoint: &route.endpoint,
                        stage: OverflowStage::Mailbox,
                    }
                    .emit();
                    self.parked.insert(endpoint_id);
                }
                Err(SendError::Closed(_)) => {
                    tracing::warn!(endpoint_id = %endpoint_id, "endpoint actor has stopped; its work stays in the store");
                }
            }
        }
        self.notify_elsewhere(elsewhere);
    }
}

impl Handler<Reload> for Router {
    type Result = ();

    fn handle(&mut self, _: Reload, ctx: &mut Self::Context) {
        self.reload(ctx);
    }
}

impl Handler<EndpointChanged> for Router {
    type Result = ();

    fn handle(&mut self, EndpointChanged(id): EndpointChanged, ctx: &mut Self::Context) {
        if id.is_empty() {
            self.reload(ctx);
            return;
        }
        let pool = self.deps.pool.clone();
        let lookup = id.clone();
        async move {
            let client = pool.get().await?;
            endpoints::get_active(&**client, &lookup).await
        }
        .into_actor(self)
        .map(
            move |result: Result<Option<Endpoint>, StoreError>, act, _| match result {
                Ok(Some(endpoint)) => act.apply(endpoint),
                Ok(None) => act.retire(&id),
                Err(error) => {
                    tracing::warn!(%error, endpoint_id = %id, "could not reload endpoint")
                }
            },
        )
        .wait(ctx);
    }
}

impl Handler<Quiesce> for Router {
    type Result = Vec<Recipient<InFlight>>;

    fn handle(&mut self, _: Quiesce, _: &mut Self::Context) -> Self::Result {
        // No reload may start new actors during shutdown.
        self.shutting_down = true;
        self.routes
            .drain()
            .map(|(_, route)| {
                route.control.do_send(Control::Retire);
                route.in_flight
            })
            .collect()
    }
}

impl Handler<Retry> for Router {
    type Result = ();

    fn handle(&mut self, Retry { endpoint_id }: Retry, _: &mut Self::Context) {
        if self.routes.contains_key(&endpoint_id) {
            self.catch_up(endpoint_id);
        } else {
            // Another process owns it (or its actor is starting and pages
            // the store anyway).
            self.notify_elsewhere(vec![endpoint_id]);
        }
    }
}

impl Handler<WorkAvailable> for Router {
    type Result = ();

    fn handle(&mut self, WorkAvailable(endpoint_id): WorkAvailable, _: &mut Self::Context) {
        if self.routes.contains_key(&endpoint_id) {
            self.catch_up(endpoint_id);
        }
    }
}

impl Handler<CatchUpAll> for Router {
    type Result = ();

    fn handle(&mut self, _: CatchUpAll, ctx: &mut Self::Context) {
        self.reload(ctx);
        let ids: Vec<String> = self.routes.keys().cloned().collect();
        for id in ids {
            self.catch_up(id);
        }
    }
}

impl Handler<SetShards> for Router {
    type Result = Vec<Recipient<InFlight>>;

    fn handle(&mut self, SetShards(owned): SetShards, ctx: &mut Self::Context) -> Self::Result {
        self.owned = owned;
        let leaving: Vec<String> = self
            .routes
            .keys()
            .filter(|id| !self.owns(id))
            .cloned()
            .collect();
        let retired = leaving
            .iter()
            .filter_map(|id| {
                let in_flight = self.routes.get(id).map(|r| r.in_flight.clone());
                self.retire(id);
                in_flight
            })
            .collect();
        self.reload(ctx);
        retired
    }
}

impl Handler<CountShards> for Router {
    type Result = ShardCount;

    fn handle(&mut self, _: CountShards, _: &mut Self::Context) -> ShardCount {
        ShardCount {
            owned: self.owned.as_ref().map_or(0, BTreeSet::len),
            total: self.shards,
        }
    }
}

impl Handler<CountEndpoints> for Router {
    type Result = usize;

    fn handle(&mut self, _: CountEndpoints, _: &mut Self::Context) -> usize {
        self.routes.len()
    }
}
