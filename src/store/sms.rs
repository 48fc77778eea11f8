//! The SMS outbox, templates and opt-outs.
//!
//! The customer's number lives in `sms_outbox.phone` and nowhere else, and
//! only until its SMS is final; [`phone_hash`] stands in for it after that
//! (opt-outs, deduplication).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio_postgres::{GenericClient, Row};

use super::ingest::NewEvent;
use super::{StoreError, Transaction};
use crate::schema::{EventData, EventType};
use crate::sms::phone::PhoneOnRecord;
use crate::sms::Template;
use crate::telemetry::events::{SmsCounted, SmsOutcome};

/// The stable stand-in for a number: SHA-256 of its E.164 form.
pub fn phone_hash(e164: &str) -> Vec<u8> {
    Sha256::digest(e164.as_bytes()).to_vec()
}

/// Where an SMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsState {
    /// Waiting for its (next) send.
    Pending,
    /// Handed to a sender, not yet answered.
    Sending,
    /// The gateway took it; no delivery report yet.
    Accepted,
    /// The handset received it.
    Delivered,
    /// The gateway or the operator refused it for good.
    Failed,
    /// The operator gave up delivering it.
    Expired,
    /// The customer replied STOP to this merchant.
    OptedOut,
    /// The order row had no phone number.
    NoPhone,
    /// The order row's phone number is not a mobile number.
    InvalidPhone,
    /// The merchant switched this type off before it was sent.
    Disabled,
}

impl SmsState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsState::Pending => "pending",
            SmsState::Sending => "sending",
            SmsState::Accepted => "accepted",
            SmsState::Delivered => "delivered",
            SmsState::Failed => "failed",
            SmsState::Expired => "expired",
            SmsState::OptedOut => "opted_out",
            SmsState::NoPhone => "no_phone",
            SmsState::InvalidPhone => "invalid_phone",
            SmsState::Disabled => "disabled",
        }
    }
}

/// Writes one outbox row per fresh event of a partner with built-in
/// tracking and an enabled template for its type, in the ingest
/// transaction. Events without a usable number get a row too (no phone,
/// invalid), so the portal can say why no SMS went; numbers that replied
/// STOP get an `opted_out` row. Answers how many rows are due to be sent.
pub async fn enqueue(
    tx: &Transaction<'_>,
    events: &[NewEvent<'_>],
    fresh: &[(usize, i64)],
    tracked: &HashSet<String>,
) -> Result<u64, StoreError> {
    let mut c = OutboxColumns::default();
    for &(index, _) in fresh {
        let data = events[index].data;
        if !data.is_test && tracked.contains(&data.partner_id) {
            c.push(data);
        }
    }
    if c.event.is_empty() {
        return Ok(0);
    }
    let statement = tx
        .prepare_cached(
            "WITH input AS (
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                      $6::bytea[], $7::text[], $8::text[])
                     AS i(event_id, partner_id, order_id, event_type, phone, phone_hash, phone_masked,
                          state)
             ),
             rows AS (
                 SELECT i.*, (o.partner_id IS NOT NULL) AS opted_out
                 FROM input i
                 JOIN sms_templates t
                   ON t.partner_id = i.partner_id AND t.event_type = i.event_type AND t.enabled
                 LEFT JOIN sms_opt_outs o
                   ON o.partner_id = i.partner_id AND o.phone_hash = i.phone_hash
             ),
             inserted AS (
                 INSERT INTO sms_outbox (event_id, partner_id, order_id, event_type, phone, phone_hash,
                                         phone_masked, state)
                 SELECT event_id, partner_id, order_id, event_type,
                        CASE WHEN opted_out THEN NULL ELSE phone END, phone_hash, phone_masked,
                        CASE WHEN opted_out THEN 'opted_out' ELSE state END
                 FROM rows
                 ON CONFLICT (event_id, phone_hash) DO NOTHING
                 RETURNING partner_id, state
             )
             SELECT partner_id, state, count(*) FROM inserted GROUP BY partner_id, state",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &c.event,
                &c.partner,
                &c.order,
                &c.event_type,
                &c.phone,
                &c.hash,
                &c.masked,
                &c.state,
            ],
        )
        .await?;
    let mut pending = 0;
    for row in rows {
        let (partner, state, n): (&str, &str, i64) = (row.get(0), row.get(1), row.get(2));
        if state == SmsState::Pending.as_str() {
            pending += u64::try_from(n).unwrap_or(0);
        } else if let Some(outcome) = SmsOutcome::of_state(state) {
            // Counted here, where the reason is known; a batch retried after
            // a failed commit counts again, which a rate tolerates.
            for _ in 0..n {
                SmsCounted { partner, outcome }.emit();
            }
        }
    }
    Ok(pending)
}

/// The columns of [`enqueue`]'s statement.
#[derive(Default)]
struct OutboxColumns<'a> {
    event: Vec<&'a str>,
    partner: Vec<&'a str>,
    order: Vec<&'a str>,
    event_type: Vec<&'a str>,
    phone: Vec<Option<&'a str>>,
    hash: Vec<Option<Vec<u8>>>,
    masked: Vec<Option<String>>,
    state: Vec<&'static str>,
}

impl<'a> OutboxColumns<'a> {
    fn push(&mut self, data: &'a EventData) {
        self.event.push(&data.event_id);
        self.partner.push(&data.partner_id);
        self.order.push(&data.order_id);
        self.event_type.push(data.event_type.as_str());
        let (phone, state) = match &data.customer_phone {
            PhoneOnRecord::Valid(p) => (Some(p), SmsState::Pending),
            PhoneOnRecord::Invalid(_) => (None, SmsState::InvalidPhone),
            PhoneOnRecord::Missing => (None, SmsState::NoPhone),
        };
        self.phone.push(phone.map(|p| p.expose()));
        self.hash.push(phone.map(|p| phone_hash(p.expose())));
        self.masked.push(phone.map(|p| p.masked()));
        self.state.push(state.as_str());
    }
}

/// An SMS claimed for sending, with all its text is made from.
#[derive(Debug, Clone)]
pub struct ClaimedSms {
    /// The outbox row.
    pub id: i64,
    /// Its partner.
    pub partner_id: String,
    /// The partner's name (the `{merchant}` variable).
    pub merchant: String,
    /// The customer's number (E.164).
    pub phone: crate::sms::CustomerPhone,
    /// Sends before this one.
    pub attempts: i32,
    /// The event it announces.
    pub event: EventData,
    /// The partner's template for the event's type; `None` when it was
    /// switched off or deleted since.
    pub template: Option<Template>,
    /// The order's tracking page token.
    pub page_token: Option<String>,
}

/// Claims up to `per_partner` due SMS of each partner for `lease`: pending
/// ones whose time has come and sending ones whose sender's lease ran out
/// (it died mid-send: that SMS may go twice, the one case that can).
/// Concurrent senders never claim the same row: the update re-checks each
/// row's state under its lock.
pub async fn claim_due(
    client: &impl GenericClient,
    per_partner: i64,
    lease: Duration,
) -> Result<Vec<ClaimedSms>, StoreError> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "WITH due AS (
                 SELECT id FROM (
                     SELECT id, row_number() OVER (PARTITION BY partner_id ORDER BY id) AS n
                     FROM sms_outbox
                     WHERE (state = 'pending' AND next_attempt_at <= now())
                        OR (state = 'sending' AND lease_until < now())
                 ) d WHERE n <= $1
             ),
             claimed AS (
                 UPDATE sms_outbox s
                 SET state = 'sending', lease_until = now() + make_interval(secs => $2::bigint / 1000.0),
                     updated_at = now()
                 FROM due
                 WHERE s.id = due.id
                   AND ((s.state = 'pending' AND s.next_attempt_at <= now())
                        OR (s.state = 'sending' AND s.lease_until < now()))
                 RETURNING s.id, s.partner_id, s.order_id, s.event_id, s.event_type, s.phone, s.attempts
             )
             SELECT c.id, c.partner_id, p.name, c.phone, c.attempts, e.data,
                    t.enabled, t.body, t.dlt_body, t.dlt_template_id, t.sender_header, t.entity_id,
                    o.token, c.event_type
             FROM claimed c
             JOIN partners p ON p.id = c.partner_id
             JOIN events e ON e.id = c.event_id
             LEFT JOIN sms_templates t ON t.partner_id = c.partner_id AND t.event_type = c.event_type
             LEFT JOIN tracked_orders o ON o.partner_id = c.partner_id AND o.order_id = c.order_id
             ORDER BY c.id",
            &[&per_partner, &lease_ms],
        )
        .await?;
    rows.iter().map(claimed_from_row).collect()
}

fn claimed_from_row(row: &Row) -> Result<ClaimedSms, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        table: "sms_outbox",
        message,
    };
    let data: serde_json::Value = row.get(5);
    let event: EventData =
        serde_json::from_value(data).map_err(|e| corrupt(format!("event data: {e}")))?;
    let phone: Option<String> = row.get(3);
    let phone = phone.ok_or_else(|| corrupt("a due SMS without a phone".into()))?;
    let enabled: Option<bool> = row.get(6);
    let template = match enabled {
        Some(true) => Some(Template {
            event_type: event.event_type,
            enabled: true,
            text: row.get(7),
            dlt_text: row.get(8),
            dlt_template_id: row.get(9),
            sender_header: row.get(10),
            entity_id: row.get(11),
        }),
        _ => None,
    };
    Ok(ClaimedSms {
        id: row.get(0),
        partner_id: row.get(1),
        merchant: row.get(2),
        phone: crate::sms::CustomerPhone::from_stored(phone),
        attempts: row.get(4),
        event,
        template,
        page_token: row.get(12),
    })
}

/// The gateway took the SMS: it waits for its delivery report. A report
/// can beat the gateway's answer here (Kannel calls back as soon as the
/// SMSC answers), so a state it already set is kept.
pub async fn mark_accepted(
    client: &impl GenericClient,
    id: i64,
    parts: i32,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE sms_outbox SET state = CASE WHEN state = 'sending' THEN 'accepted' ELSE state END,
                 attempts = attempts + 1, parts = $2, sent_at = now(), lease_until = NULL,
                 last_error = NULL, updated_at = now()
             WHERE id = $1 AND state IN ('sending', 'accepted', 'delivered', 'failed', 'expired')
               AND sent_at IS NULL",
            &[&id, &parts],
        )
        .await?;
    Ok(())
}

/// The send failed for now: try again at `at`.
pub async fn schedule_retry(
    client: &impl GenericClient,
    id: i64,
    at: DateTime<Utc>,
    error: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE sms_outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = $2,
                 lease_until = NULL, last_error = $3, updated_at = now()
             WHERE id = $1 AND state = 'sending'",
            &[&id, &at, &error],
        )
        .await?;
    Ok(())
}

/// The SMS ends unsent (`failed` after its last try, or `disabled`); its
/// number is dropped.
pub async fn finish_unsent(
    client: &impl GenericClient,
    id: i64,
    state: SmsState,
    error: Option<&str>,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE sms_outbox SET state = $2, attempts = attempts + CASE WHEN $2 = 'failed' THEN 1 ELSE 0 END,
                 phone = NULL, lease_until = NULL, last_error = $3, updated_at = now()
             WHERE id = $1 AND state = 'sending'",
            &[&id, &state.as_str(), &error],
        )
        .await?;
    Ok(())
}

/// Records a delivery report; a final one (delivered, failed, expired)
/// drops the number. Answers the SMS's partner, `None` when no accepted or
/// reported SMS has this id (a late or forged report changes nothing).
pub async fn record_report(
    client: &impl GenericClient,
    id: i64,
    state: SmsState,
) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt(
            "UPDATE sms_outbox SET state = $2,
                 phone = CASE WHEN $2 = 'accepted' THEN phone ELSE NULL END, updated_at = now()
             WHERE id = $1 AND state IN ('accepted', 'sending', 'delivered', 'failed', 'expired')
               AND NOT (state = 'delivered' AND $2 <> 'delivered')
             RETURNING partner_id",
            &[&id, &state.as_str()],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Opts a number out of the SMS of the partners it last heard from: those
/// whose sender header is `header` when given, else the partner of the
/// latest SMS to it. Pending SMS of those partners to it are dropped.
/// Answers the partners opted out of.
pub async fn opt_out(
    tx: &Transaction<'_>,
    hash: &[u8],
    header: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let rows = tx
        .query(
            "WITH sent AS (
                 SELECT DISTINCT ON (s.partner_id) s.partner_id, s.id
                 FROM sms_outbox s
                 WHERE s.phone_hash = $1
                 ORDER BY s.partner_id, s.id DESC
             ),
             chosen AS (
                 SELECT partner_id FROM sent
                 WHERE $2::text IS NOT NULL AND EXISTS (
                     SELECT 1 FROM sms_templates t
                     WHERE t.partner_id = sent.partner_id AND upper(t.sender_header) = upper($2))
                 UNION
                 SELECT partner_id FROM (SELECT partner_id FROM sent ORDER BY id DESC LIMIT 1) l
                 WHERE $2::text IS NULL
             ),
             stored AS (
                 INSERT INTO sms_opt_outs (partner_id, phone_hash)
                 SELECT partner_id, $1 FROM chosen
                 ON CONFLICT DO NOTHING
             ),
             dropped AS (
                 UPDATE sms_outbox s SET state = 'opted_out', phone = NULL, updated_at = now()
                 FROM chosen c
                 WHERE s.partner_id = c.partner_id AND s.phone_hash = $1 AND s.state = 'pending'
             )
             SELECT partner_id FROM chosen ORDER BY partner_id",
            &[&hash, &header],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// One SMS of an order, as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSms {
    /// The event type it announced.
    pub event_type: String,
    /// Its state name.
    pub state: String,
    /// The number, masked; `None` when the row had none.
    pub phone_masked: Option<String>,
    /// Sends tried.
    pub attempts: i32,
    /// SMS parts of the text.
    pub parts: Option<i32>,
    /// When the gateway took it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}

/// The SMS of one order of one partner, oldest first.
pub async fn of_order(
    client: &impl GenericClient,
    partner_id: &str,
    order_id: &str,
) -> Result<Vec<OrderSms>, StoreError> {
    let rows = client
        .query(
            "SELECT event_type, state, phone_masked, attempts, parts, sent_at, updated_at
             FROM sms_outbox WHERE partner_id = $1 AND order_id = $2 ORDER BY id",
            &[&partner_id, &order_id],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| OrderSms {
            event_type: r.get(0),
            state: r.get(1),
            phone_masked: r.get(2),
            attempts: r.get(3),
            parts: r.get(4),
            sent_at: r.get(5),
            updated_at: r.get(6),
        })
        .collect())
}

/// A partner's saved templates, in event type order.
pub async fn templates(
    client: &impl GenericClient,
    partner_id: &str,
) -> Result<Vec<Template>, StoreError> {
    let rows = client
        .query(
            "SELECT event_type, enabled, body, dlt_body, dlt_template_id, sender_header, entity_id
             FROM sms_templates WHERE partner_id = $1",
            &[&partner_id],
        )
        .await?;
    let mut out: Vec<Template> = rows
        .into_iter()
        .filter_map(|r| {
            let ty: String = r.get(0);
            Some(Template {
                event_type: ty.parse::<EventType>().ok()?,
                enabled: r.get(1),
                text: r.get(2),
                dlt_text: r.get(3),
                dlt_template_id: r.get(4),
                sender_header: r.get(5),
                entity_id: r.get(6),
            })
        })
        .collect();
    out.sort_by_key(|t| EventType::ALL.iter().position(|e| *e == t.event_type));
    Ok(out)
}

/// Saves a (validated) template of a partner.
pub async fn save_template(
    client: &impl GenericClient,
    partner_id: &str,
    t: &Template,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO sms_templates (partner_id, event_type, enabled, body, dlt_body, dlt_template_id,
                                        sender_header, entity_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (partner_id, event_type) DO UPDATE SET
                 enabled = EXCLUDED.enabled, body = EXCLUDED.body, dlt_body = EXCLUDED.dlt_body,
                 dlt_template_id = EXCLUDED.dlt_template_id, sender_header = EXCLUDED.sender_header,
                 entity_id = EXCLUDED.entity_id, updated_at = now()",
            &[
                &partner_id,
                &t.event_type.as_str(),
                &t.enabled,
                &t.text,
                &t.dlt_text,
                &t.dlt_template_id,
                &t.sender_header,
                &t.entity_id,
            ],
        )
        .await
        .map_err(|e| match e.as_db_error().map(|d| d.constraint()) {
            Some(Some("sms_templates_partner_id_fkey")) => {
                StoreError::UnknownPartner(partner_id.to_owned())
            }
            _ => StoreError::Db(e),
        })?;
    Ok(())
}
