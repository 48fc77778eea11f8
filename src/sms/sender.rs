//! Drains the SMS outbox through a gateway: claims due SMS, renders their
//! text, sends them and records the answer, retrying with backoff while the
//! gateway is down or refuses, until the retry schedule runs out (failed).
//!
//! The rate limit is per partner: each round claims at most
//! `per_partner_per_round` SMS of a partner and rounds are `round_interval`
//! apart, so one merchant's sale cannot trip the aggregator's throttling
//! nor delay the others.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{FixedOffset, Utc};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::gateway::{GatewayError, OutgoingSms, SmsGateway};
use super::parts;
use super::template::Variable;
use crate::schema::EventType;
use crate::store::sms::{self as outbox, ClaimedSms, SmsState};
use crate::store::tracking::{first_name, TrackingPages};
use crate::store::StoreError;
use crate::telemetry::events::{SmsCounted, SmsOutcome};

/// How the sender paces and retries.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// Wait before each retry; its length is the number of retries.
    pub retry_schedule: Vec<Duration>,
    /// Most SMS of one partner claimed per round.
    pub per_partner_per_round: i64,
    /// Time between rounds.
    pub round_interval: Duration,
    /// How long a claimed SMS is this sender's before another may take it.
    pub lease: Duration,
    /// Sends in flight at once.
    pub concurrency: usize,
}

/// Runs until `shutdown` turns true.
pub async fn run<G: SmsGateway>(
    pool: deadpool_postgres::Pool,
    gateway: Arc<G>,
    pages: TrackingPages,
    settings: SenderSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = round(&pool, &*gateway, &pages, &settings).await {
            tracing::error!(%error, "SMS outbox round failed; retrying");
        }
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(settings.round_interval) => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One round: claim, send concurrently, record. Answers how many were
/// claimed.
pub async fn round<G: SmsGateway>(
    pool: &deadpool_postgres::Pool,
    gateway: &G,
    pages: &TrackingPages,
    settings: &SenderSettings,
) -> Result<usize, StoreError> {
    let client = pool.get().await?;
    let claimed =
        outbox::claim_due(&**client, settings.per_partner_per_round, settings.lease).await?;
    drop(client);
    let n = claimed.len();
    let results: Vec<Result<(), StoreError>> = futures_util::stream::iter(claimed)
        .map(|sms| send_one(pool, gateway, pages, settings, sms))
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(n)
}

async fn send_one<G: SmsGateway>(
    pool: &deadpool_postgres::Pool,
    gateway: &G,
    pages: &TrackingPages,
    settings: &SenderSettings,
    sms: ClaimedSms,
) -> Result<(), StoreError> {
    let Some(template) = &sms.template else {
        let client = pool.get().await?;
        return outbox::finish_unsent(&**client, sms.id, SmsState::Disabled, None).await;
    };
    let text = match template.render(&values(&sms, pages)) {
        Ok(text) => text,
        Err(e) => {
            let client = pool.get().await?;
            let error = e.to_string();
            return outbox::finish_unsent(&**client, sms.id, SmsState::Failed, Some(&error)).await;
        }
    };
    let size = parts::count(&text);
    let outgoing = OutgoingSms {
        id: sms.id,
        to: &sms.phone,
        sender_header: &template.sender_header,
        text: &text,
        encoding: size.encoding,
        entity_id: &template.entity_id,
        dlt_template_id: &template.dlt_template_id,
    };
    let result = gateway.send(&outgoing).await;
    let client = pool.get().await?;
    let count = |outcome| {
        SmsCounted {
            partner: &sms.partner_id,
            outcome,
        }
        .emit()
    };
    match result {
        Ok(()) => {
            let parts = i32::try_from(size.count).unwrap_or(i32::MAX);
            outbox::mark_accepted(&**client, sms.id, parts).await?;
            // Ids only: the text may hold the OTP, the number is personal.
            tracing::debug!(sms = sms.id, partner = %sms.partner_id, event_type = %sms.event.event_type, parts, "SMS accepted by the gateway");
            count(SmsOutcome::Accepted);
            Ok(())
        }
        Err(error) => {
            let kind = match &error {
                GatewayError::Unavailable(_) => "unavailable",
                GatewayError::Refused(_) => "refused",
            };
            let retry = usize::try_from(sms.attempts)
                .ok()
                .and_then(|a| settings.retry_schedule.get(a));
            let detail = error.to_string();
            match retry {
                Some(wait) => {
                    tracing::warn!(sms = sms.id, partner = %sms.partner_id, kind, retry_in = ?wait, "SMS not sent; will retry");
                    let at = Utc::now() + chrono::Duration::from_std(*wait).unwrap_or_default();
                    outbox::schedule_retry(&**client, sms.id, at, &detail).await?;
                    count(SmsOutcome::Retried);
                    Ok(())
                }
                None => {
                    tracing::warn!(sms = sms.id, partner = %sms.partner_id, kind, "SMS failed after its last try");
                    outbox::finish_unsent(&**client, sms.id, SmsState::Failed, Some(&detail))
                        .await?;
                    count(SmsOutcome::Failed);
                    Ok(())
                }
            }
        }
    }
}

/// India Standard Time, in which ETA windows are written.
fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 1800).expect("a valid offset")
}

/// The template variables of one SMS. The OTP is given only to the
/// out_for_delivery SMS, whatever its template says.
pub fn values(sms: &ClaimedSms, pages: &TrackingPages) -> BTreeMap<Variable, String> {
    let e = &sms.event;
    let mut v = BTreeMap::new();
    let reference = e
        .merchant_order_ref
        .clone()
        .unwrap_or_else(|| e.order_id.clone());
    v.insert(Variable::OrderRef, reference);
    v.insert(Variable::Merchant, sms.merchant.clone());
    if let Some(rider) = e.rider_name.as_deref().and_then(first_name) {
        v.insert(Variable::Rider, rider.to_owned());
    }
    if e.event_type == EventType::OutForDelivery {
        if let Some(otp) = &e.delivery_otp {
            v.insert(Variable::Otp, otp.expose().to_owned());
        }
    }
    if let Some(w) = e.estimated_delivery_window {
        let (start, end) = (w.start.with_timezone(&ist()), w.end.with_timezone(&ist()));
        v.insert(
            Variable::Eta,
            format!("{}-{}", start.format("%H:%M"), end.format("%H:%M")),
        );
    }
    let link = match (&e.tracking_url, &sms.page_token) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(token)) => Some(pages.url(token)),
        (None, None) => None,
    };
    if let Some(link) = link {
        v.insert(Variable::TrackingLink, link);
    }
    if let Some(reason) = &e.failure_reason {
        v.insert(Variable::FailureReason, reason.clone());
    }
    v
}

/// Starts the sender `config` describes on the current runtime, when it is
/// enabled; `None` otherwise.
pub fn spawn_from_config(
    pool: deadpool_postgres::Pool,
    config: &crate::config::Config,
    shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let sms = &config.sms;
    if !sms.enabled {
        return None;
    }
    // Validated at load.
    let sendsms_url = url::Url::parse(&sms.kannel_sendsms_url).ok()?;
    let gateway = super::gateway::kannel::Kannel::new(super::gateway::kannel::KannelSettings {
        sendsms_url,
        username: sms.kannel_username.clone(),
        password: sms.kannel_password.clone(),
        smsc_id: sms.kannel_smsc_id.clone(),
        callback_base_url: sms.callback_base_url.clone(),
        callback_token: sms.callback_token.clone().unwrap_or_default(),
        timeout: sms.send_timeout,
    });
    let settings = SenderSettings {
        retry_schedule: sms.retry_schedule.clone(),
        per_partner_per_round: sms.per_partner_per_round(),
        round_interval: sms.round_interval,
        lease: sms.send_timeout * 3,
        concurrency: sms.concurrency,
    };
    Some(tokio::spawn(run(
        pool,
        Arc::new(gateway),
        config.http.tracking_pages(),
        settings,
        shutdown,
    )))
}
