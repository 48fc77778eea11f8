//! Follows endpoint changes made by any process (the admin API, the CLI, a
//! migration) through PostgreSQL's LISTEN/NOTIFY, so routing changes take
//! effect without a restart.

use std::time::Duration;

use actix::Addr;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::actors::router::{CatchUpAll, EndpointChanged, Router, WorkAvailable};

/// The channel the triggers of migration 0001 notify: an endpoint changed.
pub const CHANNEL: &str = "trackwire_endpoints";

/// Work was stored for an endpoint that another process may own.
pub const WORK_CHANNEL: &str = "trackwire_work";

/// Listens until shutdown, reconnecting when the connection drops. After each
/// (re)connection the router reloads everything, since notifications sent
/// while disconnected are lost.
pub async fn follow_endpoint_changes(
    url: String,
    router: Addr<Router>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut wait = Duration::from_millis(200);
    loop {
        let session = listen_once(&url, &router);
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            result = session => {
                if let Err(error) = result {
                    tracing::warn!(%error, retry_in = ?wait, "endpoint change listener disconnected");
                }
            }
        }
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(url: &str, router: &Addr<Router>) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let _ = tx.send((n.channel() == WORK_CHANNEL, n.payload().to_owned()));
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    let forward = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {WORK_CHANNEL}"))
            .await?;
        // Whatever was notified while we were not listening is lost: look
        // at everything once.
        router.do_send(CatchUpAll);
        while let Some((work, id)) = rx.recv().await {
            if work {
                router.do_send(WorkAvailable(id));
            } else {
                router.do_send(EndpointChanged(id));
            }
        }
        Ok(())
    };
    tokio::select! {
        r = driver => r,
        r = forward => r,
    }
}
