//! Sharing the endpoints between several trackwire processes.
//!
//! Every endpoint belongs to one of `cluster.shards` shards (a hash of its
//! id), and every shard to at most one live process, through a lease in
//! PostgreSQL that the owner renews every `cluster.heartbeat`. Each process
//! aims for an even share of the shards among the live members; a process
//! that dies stops renewing, and the survivors claim its shards once the
//! leases expire. The router runs endpoint actors only for owned shards, so
//! no delivery is attempted by two processes at once. A process that
//! restarts in place takes its predecessor's name and so its leases at once
//! (see [`identity`]).

mod identity;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actix::{Addr, Recipient};
use deadpool_postgres::Pool;
use tokio::sync::watch;

use crate::actors::endpoint::InFlight;
use crate::actors::router::{Router, SetShards};
use crate::config::ClusterConfig;
use crate::store::{cluster as leases, StoreError};

/// The shard an endpoint belongs to: FNV-1a of its id, stable across
/// processes and versions.
pub fn shard_of(endpoint_id: &str, shards: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in endpoint_id.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(shards.max(1))) as u32
}

/// A name for this process in the cluster, unique per start.
pub fn member_id() -> String {
    format!(
        "{}-{}-{:08x}",
        identity::host_name(),
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Keeps this process's share of the shards until shutdown, then gives them
/// back. `attempt_timeout` bounds how long a handed-over endpoint's attempts
/// may still be running here.
pub async fn run(
    pool: Pool,
    config: ClusterConfig,
    attempt_timeout: Duration,
    router: Addr<Router>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut identity = identity::Identity::take(&pool).await;
    let mut owned: BTreeSet<u32> = BTreeSet::new();
    let mut last_renewed = Instant::now();
    let mut prepared = false;
    // Past this since the last successful renewal, another process may
    // already hold our shards: stop before that can happen.
    let keep_for = config.lease.saturating_sub(config.heartbeat);
    tracing::info!(member = %identity.member, shards = config.shards, "joining the cluster");
    loop {
        let started = Instant::now();
        let named = identity.still_held().await
            || regain(&mut identity, &mut owned, attempt_timeout, &router, &pool).await;
        // Without a name there is nothing to renew under: wait for the store.
        if named {
            let member = identity.member.clone();
            match balance(
                &pool,
                &config,
                &member,
                &mut prepared,
                attempt_timeout,
                &router,
            )
            .await
            {
                Ok(now_owned) => {
                    last_renewed = started;
                    if now_owned != owned {
                        tracing::info!(%member, owned = now_owned.len(), "shards assigned");
                        owned = now_owned;
                        let _ = router.send(SetShards(Some(owned.clone()))).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(%member, %error, "could not renew shard leases");
                    if !owned.is_empty() && started.duration_since(last_renewed) >= keep_for {
                        tracing::error!(%member, "shard leases lapsed; handing every endpoint over");
                        owned.clear();
                        let _ = router.send(SetShards(Some(BTreeSet::new()))).await;
                    }
                }
            }
        }
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            _ = tokio::time::sleep(config.heartbeat) => {}
        }
    }
    if let Ok(client) = pool.get().await {
        if let Err(error) = leases::leave(&**client, &identity.member).await {
            tracing::warn!(%error, "could not release shard leases; they expire on their own");
        }
    }
}

/// The session holding this process's name ended (the database restarted,
/// the connection broke), so another process may take the name and its
/// leases: stop delivering for them and let the attempts finish, then hold
/// the same name again (its leases are still ours if they have not lapsed),
/// or take another when a newcomer holds it. False while the store cannot
/// be reached.
async fn regain(
    identity: &mut identity::Identity,
    owned: &mut BTreeSet<u32>,
    attempt_timeout: Duration,
    router: &Addr<Router>,
    pool: &Pool,
) -> bool {
    if !owned.is_empty() {
        tracing::error!(member = %identity.member, "lost the session holding the member name; handing every endpoint over");
        let retired = router
            .send(SetShards(Some(BTreeSet::new())))
            .await
            .unwrap_or_default();
        owned.clear();
        wait_idle(&retired, attempt_timeout).await;
    }
    match identity.relock(pool).await {
        Ok(true) => true,
        Ok(false) => {
            *identity = identity::Identity::take(pool).await;
            tracing::info!(member = %identity.member, "rejoining the cluster under another name");
            true
        }
        Err(error) => {
            tracing::warn!(member = %identity.member, %error, "cannot hold the member name yet");
            false
        }
    }
}

/// One heartbeat: renew, then give back or claim shards towards an even
/// share. Shards are given back only after their actors have stopped and
/// their attempts finished.
async fn balance(
    pool: &Pool,
    config: &ClusterConfig,
    member: &str,
    prepared: &mut bool,
    attempt_timeout: Duration,
    router: &Addr<Router>,
) -> Result<BTreeSet<u32>, StoreError> {
    let client = pool.get().await?;
    if !*prepared {
        leases::ensure_shards(&**client, config.shards).await?;
        *prepared = true;
    }
    let alive = leases::heartbeat(&**client, member, config.lease).await?;
    let target = config.shards.div_ceil(alive) as usize;
    let mut held = leases::renew(&**client, member, config.lease).await?;
    if held.len() > target {
        let excess: Vec<u32> = held
            .iter()
            .rev()
            .take(held.len() - target)
            .copied()
            .collect();
        for s in &excess {
            held.remove(s);
        }
        // Stop the actors first and let their attempts finish, so the next
        // owner never overlaps with us.
        let retired = router
            .send(SetShards(Some(held.clone())))
            .await
            .unwrap_or_default();
        wait_idle(&retired, attempt_timeout).await;
        leases::release(&**client, member, &excess).await?;
    } else if held.len() < target {
        let claimed = leases::claim(
            &**client,
            member,
            (target - held.len()) as u32,
            config.lease,
        )
        .await?;
        held.extend(claimed);
    }
    Ok(held)
}

/// Waits until the given actors have no attempt under way, at most `limit`.
pub async fn wait_idle(actors: &[Recipient<InFlight>], limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit + Duration::from_millis(500);
    for actor in actors {
        while matches!(actor.send(InFlight).await, Ok(n) if n > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(
            shard_of("ep_0000000000000001", 64),
            shard_of("ep_0000000000000001", 64)
        );
        let mut counts = [0u32; 8];
        for i in 0..8_000 {
            counts[shard_of(&format!("ep_{i:016x}"), 8) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
        assert_eq!(shard_of("anything", 1), 0);
    }
}
