//! What the router is told and asked: new deliveries, endpoint and shard
//! changes, catch-ups, retries, shutdown, and the counts readiness reads.

use std::collections::BTreeSet;

use actix::prelude::*;

use crate::actors::endpoint::InFlight;
use crate::store::deliveries::PendingDelivery;

/// Newly stored deliveries, each for one endpoint.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispatch(pub Vec<(String, PendingDelivery)>);

/// Re-read every active endpoint from the store and bring the actors in line:
/// start new ones, reconfigure changed ones, retire removed ones.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

/// One endpoint changed in the store (from the change notification channel).
/// An empty id means "something changed that affects many": reload all.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EndpointChanged(pub String);

/// The shards this process owns now (`None`: not yet known, run nothing).
/// Actors of endpoints outside them are retired; answers with a way to ask
/// those how many attempts they still have under way.
#[derive(Message)]
#[rtype(result = "Vec<Recipient<InFlight>>")]
pub struct SetShards(pub Option<BTreeSet<u32>>);

/// Another process (or this one) stored work for this endpoint: its actor, if
/// it runs here, pages the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WorkAvailable(pub String);

/// Notifications may have been missed: reload the endpoints and let every
/// running actor page the store once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CatchUpAll;

/// Shutting down: every endpoint actor stops starting attempts. Answers with
/// a way to ask each how many attempts are still under way.
#[derive(Message)]
#[rtype(result = "Vec<Recipient<InFlight>>")]
pub struct Quiesce;

/// Deliveries of this endpoint were queued again by a person (manual retry):
/// its actor pages them from the store now rather than at its next catch-up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retry {
    /// The endpoint whose deliveries were queued.
    pub endpoint_id: String,
}

/// How many endpoint actors are running, for health checks and tests.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountEndpoints;

/// How many shards this process owns, and how many there are, for
/// readiness: a process owning none delivers nothing.
#[derive(Message)]
#[rtype(result = "ShardCount")]
pub struct CountShards;

/// The answer to [`CountShards`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, MessageResponse)]
pub struct ShardCount {
    /// Shards owned here (0 until the cluster assigns some).
    pub owned: usize,
    /// Shards in the cluster.
    pub total: u32,
}
