//! This process's place in the cluster: the shards it holds. Membership
//! outlives the rest of the shutdown but the HTTP surfaces and the
//! recorders: shards are given back only once their attempts have finished.

use deadpool_postgres::Pool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::delivery::Delivery;
use crate::config::Config;

/// The running membership.
pub struct Membership {
    leave: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Membership {
    /// Joins the cluster; the router gets shards as they are assigned.
    pub fn join(config: &Config, pool: &Pool, delivery: &Delivery) -> Self {
        let (leave, leaving) = watch::channel(false);
        let task = actix_rt::spawn(crate::cluster::run(
            pool.clone(),
            config.cluster.clone(),
            delivery.settings.attempt_timeout,
            delivery.router.clone(),
            leaving,
        ));
        Membership { leave, task }
    }

    /// Gives the shards back and leaves.
    pub async fn leave(self) {
        let _ = self.leave.send(true);
        let _ = self.task.await;
    }
}
