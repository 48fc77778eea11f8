//! Follows endpoint changes made by any process (the admin API, the CLI, a
//! migration) through PostgreSQL's LISTEN/NOTIFY, so routing changes take
//! effect without a restart.

use std::time::Duration;

use actix::Addr;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::actors::router::{EndpointChanged, Router};

/// The channel the triggers of migration 0001 notify.
pub const CHANNEL: &str = "trackwire_endpoints";

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
                    let _ = tx.send(n.payload().to_owned());
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    let forward = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        router.do_send(EndpointChanged(String::new()));
        while let Some(id) = rx.recv().await {
            router.do_send(EndpointChanged(id));
        }
        Ok(())
    };
    tokio::select! {
        r = driver => r,
        r = forward => r,
    }
}
