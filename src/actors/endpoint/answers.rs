//! How fast the endpoint may be sent to, beyond its concurrency: what its
//! answers ask (see `response_rules`: a `410 Gone` disables it, a
//! `Retry-After` pauses it) and the partner's rate limit.

use std::time::{Duration, Instant};

use actix::prelude::*;

use super::rate_limit::{RateLimit, TokenBucket};
use super::EndpointActor;
use crate::store::endpoints;
use crate::store::StoreError;
use crate::telemetry::events::{EndpointDisabled, EndpointThrottled};

/// Why an endpoint answering `410 Gone` was disabled, as stored and shown.
pub const GONE_REASON: &str = "the endpoint answered 410 Gone";

/// How long to wait before writing the disabling again after the store
/// refused it.
const STORE_RETRY: Duration = Duration::from_secs(2);

impl EndpointActor {
    /// The endpoint answered `410 Gone`: nothing more is sent, and the store
    /// is told to disable it. Once that is written, the router hears of it
    /// like any other change and retires this actor for good; its pending
    /// deliveries stay in the store for when the partner enables it again.
    pub(super) fn disable_as_gone(&mut self, ctx: &mut Context<Self>) {
        if self.disabling {
            return;
        }
        self.disabling = true;
        self.retire(ctx);
        self.store_disabling(ctx);
    }

    fn store_disabling(&mut self, ctx: &mut Context<Self>) {
        let pool = self.deps.pool.clone();
        let endpoint_id = self.endpoint.id.clone();
        async move {
            let client = pool.get().await?;
            endpoints::disable_for_answer(&**client, &endpoint_id, GONE_REASON).await
        }
        .into_actor(self)
        .map(|written: Result<bool, StoreError>, act, ctx| match written {
            Ok(true) => EndpointDisabled {
                endpoint: &act.endpoint,
                reason: "gone",
            }
            .emit(),
            // Already disabled: by the partner, or by another process that
            // got the same answer.
            Ok(false) => {}
            // Until this is written the endpoint is enabled in the store, so
            // another process could pick it up: keep trying.
            Err(error) => {
                tracing::warn!(%error, endpoint_id = %act.endpoint.id, "could not disable a gone endpoint; retrying");
                ctx.run_later(STORE_RETRY, |act, ctx| act.store_disabling(ctx));
            }
        })
        .spawn(ctx);
    }

    /// The endpoint asked to wait `wait` (already capped): nothing starts
    /// before then. A later pause asked meanwhile extends it; a shorter one
    /// does not cut it.
    pub(super) fn pause_for(&mut self, wait: Duration, status: u16, ctx: &mut Context<Self>) {
        EndpointThrottled {
            endpoint: &self.endpoint,
            status,
            wait,
        }
        .emit();
        let until = Instant::now() + wait;
        if self.paused_until.is_some_and(|u| u >= until) {
            return;
        }
        self.paused_until = Some(until);
        if let Some(timer) = self.pause_timer.take() {
            ctx.cancel_future(timer);
        }
    }

    /// True while a pause holds: the caller starts nothing, and a wake-up is
    /// set for its end.
    pub(super) fn paused(&mut self, ctx: &mut Context<Self>) -> bool {
        let Some(until) = self.paused_until else {
            return false;
        };
        let now = Instant::now();
        if until <= now {
            self.paused_until = None;
            return false;
        }
        if self.pause_timer.is_none() {
            self.pause_timer = Some(ctx.run_later(until - now, |act, ctx| {
                act.pause_timer = None;
                act.guarded(ctx, |act, ctx| act.pump(ctx));
            }));
        }
        true
    }

    /// True when the rate limit lets one more attempt start now, taking its
    /// token; otherwise a wake-up is set for the next token.
    pub(super) fn rate_permits(&mut self, ctx: &mut Context<Self>) -> bool {
        let Some(bucket) = self.bucket.as_mut() else {
            return true;
        };
        match bucket.wait(Instant::now()) {
            None => {
                bucket.take();
                true
            }
            Some(wait) => {
                if self.rate_timer.is_none() {
                    self.rate_timer = Some(ctx.run_later(wait, |act, ctx| {
                        act.rate_timer = None;
                        act.guarded(ctx, |act, ctx| act.pump(ctx));
                    }));
                }
                false
            }
        }
    }

    /// Applies a changed limit; tokens saved up are kept, within the new
    /// burst.
    pub(super) fn set_rate_limit(&mut self, limit: Option<RateLimit>) {
        let now = Instant::now();
        self.bucket = match (self.bucket.take(), limit) {
            (Some(mut bucket), Some(limit)) => {
                if bucket.limit() != limit {
                    bucket.set_limit(limit, now);
                }
                Some(bucket)
            }
            (None, Some(limit)) => Some(TokenBucket::new(limit, now)),
            (_, None) => None,
        };
    }
}
