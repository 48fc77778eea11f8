//! Which name this process goes by in the cluster.
//!
//! A process that restarts in place (after a crash, kill -9, an OOM kill)
//! should pick up its own shards at once instead of waiting for its dead
//! leases to lapse. So a process takes a stable name, `{host}#{slot}`, the
//! lowest slot of its host that no live process holds, and renews whatever
//! leases that name still has. Holding a slot is holding a PostgreSQL
//! session-level advisory lock on a connection of its own: the server drops
//! the lock the moment the holder's session ends, so a free slot proves its
//! previous holder is gone, and two live processes can never share a name.
//! Takeover between live processes is unchanged: only a dead name's leases
//! are adopted early, and only by the one process that took the name.

use deadpool_postgres::{ClientWrapper, Object, Pool};

use crate::store::StoreError;

/// Slots tried per host before falling back to a name unique to this start.
const SLOTS: u32 = 16;

/// This process's name in the cluster and the session that holds it.
pub struct Identity {
    /// The member id leases are held under.
    pub member: String,
    /// The session holding the slot's advisory lock; `None` for a name
    /// unique to this start, which needs no lock.
    session: Option<ClientWrapper>,
}

impl Identity {
    /// Takes the lowest free slot of this host, or a name unique to this
    /// start when all are held (or the store cannot lock).
    pub async fn take(pool: &Pool) -> Identity {
        match Self::take_slot(pool).await {
            Ok(Some(identity)) => identity,
            Ok(None) => {
                tracing::warn!(slots = SLOTS, "every member slot of this host is held");
                Self::unique()
            }
            Err(error) => {
                tracing::warn!(%error, "could not take a member slot");
                Self::unique()
            }
        }
    }

    async fn take_slot(pool: &Pool) -> Result<Option<Identity>, StoreError> {
        let session = Object::take(pool.get().await?);
        let host = host_name();
        for slot in 0..SLOTS {
            let member = format!("{host}#{slot}");
            if try_lock(&session, &member).await? {
                return Ok(Some(Identity {
                    member,
                    session: Some(session),
                }));
            }
        }
        Ok(None)
    }

    /// A name no other start ever had: its leases are never adopted early.
    fn unique() -> Identity {
        Identity {
            member: super::member_id(),
            session: None,
        }
    }

    /// After the session holding the name ended: holds the same name on a
    /// new session. False when another process took it meanwhile.
    pub async fn relock(&mut self, pool: &Pool) -> Result<bool, StoreError> {
        let session = Object::take(pool.get().await?);
        if !try_lock(&session, &self.member).await? {
            return Ok(false);
        }
        self.session = Some(session);
        Ok(true)
    }

    /// False once the session holding the slot has ended: another process
    /// may take the name from then on, so this one must stop using it.
    pub async fn still_held(&self) -> bool {
        match &self.session {
            None => true,
            Some(session) => !session.is_closed() && session.simple_query("SELECT 1").await.is_ok(),
        }
    }
}

/// Takes the advisory lock of `member` on `session`, if it is free.
async fn try_lock(session: &ClientWrapper, member: &str) -> Result<bool, StoreError> {
    Ok(session
        .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(member)])
        .await?
        .get(0))
}

/// The advisory lock key of a member name (FNV-1a, stable across processes).
fn lock_key(member: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "trackwire-member:".bytes().chain(member.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// The machine's name, as the kernel has it.
pub(super) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into())
}
