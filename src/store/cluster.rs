//! Shard leases: which process delivers for which endpoints.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio_postgres::GenericClient;

use super::StoreError;

fn interval(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Makes sure every shard has a lease row (unowned at first).
pub async fn ensure_shards(client: &impl GenericClient, shards: u32) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO shard_leases (shard) SELECT generate_series(0, $1::int - 1) ON CONFLICT DO NOTHING",
            &[&(shards as i32)],
        )
        .await?;
    Ok(())
}

/// Records this process as alive and forgets members silent for longer than
/// `lease`; returns how many are alive.
pub async fn heartbeat(
    client: &impl GenericClient,
    member: &str,
    lease: Duration,
) -> Result<u32, StoreError> {
    client
        .execute(
            "INSERT INTO cluster_members (id) VALUES ($1)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
            &[&member],
        )
        .await?;
    client
        .execute(
            "DELETE FROM cluster_members WHERE heartbeat_at < now() - make_interval(secs => $1)",
            &[&interval(lease)],
        )
        .await?;
    let alive: i64 = client
        .query_one("SELECT count(*) FROM cluster_members", &[])
        .await?
        .get(0);
    Ok(u32::try_from(alive).unwrap_or(1).max(1))
}

/// Extends this process's leases; returns the shards it still holds.
pub async fn renew(
    client: &impl GenericClient,
    member: &str,
    lease: Duration,
) -> Result<BTreeSet<u32>, StoreError> {
    let rows = client
        .query(
            "UPDATE shard_leases SET expires_at = now() + make_interval(secs => $2)
             WHERE owner = $1 AND expires_at > now()
             RETURNING shard",
            &[&member, &interval(lease)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get::<_, i32>(0) as u32).collect())
}

/// Claims up to `count` free or expired shards; returns those claimed.
pub async fn claim(
    client: &impl GenericClient,
    member: &str,
    count: u32,
    lease: Duration,
) -> Result<BTreeSet<u32>, StoreError> {
    if count == 0 {
        return Ok(BTreeSet::new());
    }
    let rows = client
        .query(
            "UPDATE shard_leases l SET owner = $1, expires_at = now() + make_interval(secs => $3), epoch = l.epoch + 1
             FROM (SELECT shard FROM shard_leases
                   WHERE owner IS NULL OR expires_at <= now()
                   ORDER BY shard LIMIT $2 FOR UPDATE SKIP LOCKED) free
             WHERE l.shard = free.shard
             RETURNING l.shard",
            &[&member, &(count as i64), &interval(lease)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get::<_, i32>(0) as u32).collect())
}

/// Gives shards back, so another process can take them at once.
pub async fn release(
    client: &impl GenericClient,
    member: &str,
    shards: &[u32],
) -> Result<(), StoreError> {
    let shards: Vec<i32> = shards.iter().map(|s| *s as i32).collect();
    client
        .execute(
            "UPDATE shard_leases SET owner = NULL, expires_at = '-infinity'
             WHERE owner = $1 AND shard = ANY($2)",
            &[&member, &shards],
        )
        .await?;
    Ok(())
}

/// Leaves the cluster: every lease released, the member forgotten.
pub async fn leave(client: &impl GenericClient, member: &str) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE shard_leases SET owner = NULL, expires_at = '-infinity' WHERE owner = $1",
            &[&member],
        )
        .await?;
    client
        .execute("DELETE FROM cluster_members WHERE id = $1", &[&member])
        .await?;
    Ok(())
}

/// Tells whichever process owns these endpoints that work is waiting in the
/// store for them.
pub async fn notify_work(
    client: &impl GenericClient,
    endpoint_ids: &[String],
) -> Result<(), StoreError> {
    if endpoint_ids.is_empty() {
        return Ok(());
    }
    client
        .execute(
            "SELECT pg_notify('trackwire_work', e) FROM unnest($1::text[]) AS e",
            &[&endpoint_ids],
        )
        .await?;
    Ok(())
}
