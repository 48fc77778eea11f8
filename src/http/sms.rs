//! Kannel's callbacks: delivery reports (`dlr-url`) and replies passed on by
//! its sms-service (`get-url`), of which trackwire acts on STOP.
//!
//! Both carry `sms.callback_token` in the query; a missing or wrong token
//! answers 401 and changes nothing. Neither answer body is sent to anyone,
//! so neither says more than its status.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::AppState;
use crate::sms::CustomerPhone;
use crate::store::sms::{self as outbox, SmsState};
use crate::telemetry::events::{SmsCounted, SmsOutcome};

/// Mounts the callbacks.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sms/kannel/dlr", web::get().to(delivery_report))
        .route("/sms/kannel/mo", web::get().to(reply));
}

/// What a `dlr-url` call carries.
#[derive(Debug, Deserialize)]
struct DlrQuery {
    token: Option<String>,
    id: Option<String>,
    /// Kannel's `%d`.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Kannel's `%A`: the SMSC's reply, e.g. `id:.. stat:EXPIRED ..`.
    reply: Option<String>,
}

/// What an sms-service `get-url` call carries.
#[derive(Debug, Deserialize)]
struct MoQuery {
    token: Option<String>,
    /// Kannel's `%p`: who sent the reply.
    from: Option<String>,
    /// Kannel's `%a`: the text.
    text: Option<String>,
}

/// Compares in time independent of where the strings differ.
fn token_ok(expected: Option<&str>, given: Option<&str>) -> bool {
    let (Some(expected), Some(given)) = (expected, given) else {
        return false;
    };
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The state a Kannel report type (`%d`) means. It is a bit set: Kannel
/// adds flags to the base type (a final failure from the SMSC arrives as
/// 34, failed plus 32).
pub fn report_state(kind: u32, reply: &str) -> Option<SmsState> {
    if kind & 1 != 0 {
        Some(SmsState::Delivered)
    } else if kind & 2 != 0 && reply.to_ascii_uppercase().contains("EXPIRED") {
        Some(SmsState::Expired)
    } else if kind & (2 | 16) != 0 {
        Some(SmsState::Failed)
    } else if kind & (4 | 8) != 0 {
        Some(SmsState::Accepted)
    } else {
        None
    }
}

async fn delivery_report(state: web::Data<AppState>, q: web::Query<DlrQuery>) -> HttpResponse {
    let q = q.into_inner();
    if !token_ok(state.api.sms_callback_token.as_deref(), q.token.as_deref()) {
        return HttpResponse::Unauthorized().finish();
    }
    let id = q.id.as_deref().and_then(|s| s.parse::<i64>().ok());
    let kind = q.kind.as_deref().and_then(|s| s.parse::<u32>().ok());
    let reported = kind.and_then(|k| report_state(k, q.reply.as_deref().unwrap_or("")));
    let (Some(id), Some(reported)) = (id, reported) else {
        return HttpResponse::BadRequest().finish();
    };
    let result = async {
        let client = state.pool.get().await?;
        outbox::record_report(&**client, id, reported).await
    }
    .await;
    match result {
        Ok(Some(partner)) => {
            tracing::debug!(sms = id, %partner, state = reported.as_str(), "SMS delivery report recorded");
            if let Some(outcome) = SmsOutcome::of_state(reported.as_str()) {
                if reported != SmsState::Accepted {
                    SmsCounted {
                        partner: &partner,
                        outcome,
                    }
                    .emit();
                }
            }
            HttpResponse::NoContent().finish()
        }
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(error) => {
            tracing::error!(%error, sms = id, "could not record a delivery report");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

/// `STOP`, optionally followed by the sender header of the merchant to stop.
fn stop_request(text: &str) -> Option<Option<String>> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if !first.eq_ignore_ascii_case("stop") {
        return None;
    }
    Some(words.next().map(str::to_owned))
}

async fn reply(state: web::Data<AppState>, q: web::Query<MoQuery>) -> HttpResponse {
    let q = q.into_inner();
    if !token_ok(state.api.sms_callback_token.as_deref(), q.token.as_deref()) {
        return HttpResponse::Unauthorized().finish();
    }
    let Some(header) = q.text.as_deref().and_then(stop_request) else {
        // Not an opt-out: nothing for trackwire to do.
        return HttpResponse::NoContent().finish();
    };
    let Ok(phone) = CustomerPhone::parse(q.from.as_deref().unwrap_or("")) else {
        return HttpResponse::BadRequest().finish();
    };
    let hash = outbox::phone_hash(phone.expose());
    let result = async {
        let mut client = state.pool.get().await?;
        let tx = client.transaction().await?;
        let partners = outbox::opt_out(&tx, &hash, header.as_deref()).await?;
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(partners)
    }
    .await;
    match result {
        Ok(partners) => {
            tracing::info!(partners = partners.len(), "customer opted out of SMS");
            for partner in &partners {
                SmsCounted {
                    partner,
                    outcome: SmsOutcome::OptedOut,
                }
                .emit();
            }
            HttpResponse::NoContent().finish()
        }
        Err(error) => {
            tracing::error!(%error, "could not record an opt-out");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_types_map_to_states() {
        assert_eq!(report_state(1, ""), Some(SmsState::Delivered));
        assert_eq!(report_state(2, "id:1 stat:UNDELIV"), Some(SmsState::Failed));
        assert_eq!(
            report_state(2, "id:1 stat:EXPIRED"),
            Some(SmsState::Expired)
        );
        assert_eq!(report_state(8, ""), Some(SmsState::Accepted));
        assert_eq!(report_state(16, ""), Some(SmsState::Failed));
        assert_eq!(report_state(34, "stat:EXPIRED"), Some(SmsState::Expired));
        assert_eq!(report_state(34, "stat:UNDELIV"), Some(SmsState::Failed));
        assert_eq!(report_state(64, ""), None);
    }

    #[test]
    fn stop_is_recognised_with_or_without_a_header() {
        assert_eq!(stop_request(" stop "), Some(None));
        assert_eq!(stop_request("STOP shopin"), Some(Some("shopin".into())));
        assert_eq!(stop_request("stopped"), None);
        assert_eq!(stop_request("hello"), None);
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(token_ok(Some("abc"), Some("abc")));
        assert!(!token_ok(Some("abc"), Some("abd")));
        assert!(!token_ok(Some("abc"), Some("ab")));
        assert!(!token_ok(None, Some("abc")));
        assert!(!token_ok(Some("abc"), None));
    }
}
