//! The window: which pending deliveries the actor holds in memory, and paging
//! the rest from the store.

use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;

use super::{EndpointActor, Held, HeldState, Sync};
use crate::store::deliveries::{self, PendingDelivery};
use crate::store::StoreError;
use crate::telemetry::events::{MailboxOverflow, OverflowStage};

impl EndpointActor {
    /// Takes a delivery into the window, ready now or with a timer for its
    /// scheduled retry.
    pub(super) fn hold(&mut self, delivery: PendingDelivery, ctx: &mut Context<Self>) {
        let id = delivery.id;
        let wait = (delivery.next_attempt_at - Utc::now())
            .to_std()
            .unwrap_or_default();
        let state = if wait.is_zero() {
            HeldState::Ready
        } else {
            HeldState::Waiting(ctx.run_later(wait, move |act, ctx| {
                act.guarded(ctx, |act, ctx| act.wake(id, ctx))
            }))
        };
        self.held.insert(id, Held { delivery, state });
    }

    /// A pushed delivery: held if the window is in sync and has room;
    /// otherwise left to the store, where the next page finds it.
    pub(super) fn accept(&mut self, delivery: PendingDelivery, ctx: &mut Context<Self>) {
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
                MailboxOverflow {
                    endpoint: &self.endpoint,
                    stage: OverflowStage::Window,
                }
                .emit();
                self.sync.left_to_store(delivery.id);
            }
            Sync::Behind { .. } => self.sync.left_to_store(delivery.id),
        }
    }

    /// The store has work this window does not hold.
    pub(super) fn catch_up(&mut self, ctx: &mut Context<Self>) {
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

    /// Stops for good: cancels timers, drops the window (the store keeps it).
    pub(super) fn retire(&mut self, ctx: &mut Context<Self>) {
        self.retired = true;
        self.drop_idle(ctx);
        if let Some(t) = self.probe_timer.take() {
            ctx.cancel_future(t);
        }
        tracing::info!(endpoint_id = %self.endpoint.id, partner_id = %self.endpoint.partner_id, "endpoint retired");
    }

    /// Attempts under way finish and are recorded; everything else is let go
    /// to the store, for whoever runs this endpoint next.
    pub(super) fn drop_idle(&mut self, ctx: &mut Context<Self>) {
        self.held.retain(|_, h| match h.state {
            HeldState::Waiting(handle) => {
                ctx.cancel_future(handle);
                false
            }
            HeldState::Ready => false,
            HeldState::InFlight | HeldState::Burying => true,
        });
        self.report_depth();
    }

    /// Pages pending deliveries from the store while behind and there is
    /// room: a quarter of the window at least, as each page costs a query,
    /// or any room at all when nothing held can start (`starving`).
    pub(super) fn refill(&mut self, starving: bool, ctx: &mut Context<Self>) {
        let Sync::Behind {
            cursor,
            scanning: false,
            ..
        } = self.sync
        else {
            return;
        };
        let room = self.window().saturating_sub(self.held.len());
        if room == 0 || self.retired || (room < self.window().div_ceil(4) && !starving) {
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
        .map(move |page, act, ctx| act.guarded(ctx, |act, ctx| act.on_page(page, limit, ctx)))
        .spawn(ctx);
    }

    fn on_page(
        &mut self,
        page: Result<Vec<PendingDelivery>, StoreError>,
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
                ctx.run_later(Duration::from_secs(1), |act, ctx| {
                    if let Sync::Behind { scanning, .. } = &mut act.sync {
                        *scanning = false;
                    }
                    act.guarded(ctx, |act, ctx| act.pump(ctx));
                });
                return;
            }
        };
        let complete = (page.len() as i64) < limit;
        for delivery in page {
            cursor = cursor.max(delivery.id);
            if self.retired {
                continue;
            }
            match self.held.get_mut(&delivery.id) {
                // Finished here; the store does not know yet.
                None if self.unwritten.contains(delivery.id) => {}
                None => self.hold(delivery, ctx),
                // A manual retry of a delivery waiting for its retry timer:
                // run it now instead of at the scheduled time. One in flight
                // or being buried is left alone: its outcome is on its way.
                Some(h) if delivery.manual => match h.state {
                    HeldState::Waiting(handle) => {
                        ctx.cancel_future(handle);
                        h.state = HeldState::Ready;
                        h.delivery.manual = true;
                        h.delivery.charged = 0;
                    }
                    HeldState::Ready => {
                        h.delivery.manual = true;
                        h.delivery.charged = 0;
                    }
                    HeldState::InFlight | HeldState::Burying => {}
                },
                Some(_) => {}
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

impl Sync {
    /// A delivery pushed while behind was left to the store: make sure the
    /// paging finds it.
    fn left_to_store(&mut self, id: i64) {
        match self {
            Sync::InSync => *self = Sync::behind(),
            Sync::Behind {
                scanning: true,
                missed,
                ..
            } => *missed = true,
            // Committed after the scan passed its id (ids are taken before
            // commit, so they can commit out of order): page from just
            // before it.
            Sync::Behind { cursor, .. } if id <= *cursor => *cursor = id - 1,
            Sync::Behind { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sync;

    fn behind(cursor: i64, scanning: bool) -> Sync {
        Sync::Behind {
            cursor,
            scanning,
            missed: false,
        }
    }

    #[test]
    fn a_push_behind_the_cursor_moves_the_cursor_back_to_it() {
        let mut sync = behind(1_000, false);
        sync.left_to_store(990);
        assert_eq!(sync, behind(989, false));
        sync.left_to_store(1_500);
        assert_eq!(
            sync,
            behind(989, false),
            "ahead of the cursor: found anyway"
        );
    }

    #[test]
    fn a_push_during_a_scan_asks_for_another_scan() {
        let mut sync = behind(1_000, true);
        sync.left_to_store(10);
        assert_eq!(
            sync,
            Sync::Behind {
                cursor: 1_000,
                scanning: true,
                missed: true
            }
        );
    }

    #[test]
    fn a_push_in_sync_starts_a_scan_from_the_start() {
        let mut sync = Sync::InSync;
        sync.left_to_store(10);
        assert_eq!(sync, behind(0, false));
    }
}
