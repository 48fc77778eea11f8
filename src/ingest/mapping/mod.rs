//! Turning a row change into an event: which columns mean what and which
//! status is which event type come from `[cdc]` in the configuration.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::debezium::{Change, Op, Row};
use crate::config::CdcConfig;
use crate::schema::{mask_phone, EventData, EventType, TimeWindow, TrackingUrlTemplate};
use crate::sms::phone::PhoneOnRecord;
use values::{boolean, integer, opt_col, optional, required_text, string_list, text, timestamp};

#[cfg(test)]
mod tests;
mod values;

/// What a change becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// An event to deliver.
    Event(Box<EventData>),
    /// Nothing to deliver, for this reason.
    Skip(SkipReason),
}

/// Why a well-formed change yields no event. Each is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A Kafka tombstone.
    Tombstone,
    /// A deleted row.
    Delete,
    /// A snapshot read: the current state, not a transition.
    Snapshot,
    /// An update that left the status as it was.
    NoTransition,
    /// An insert while `cdc.emit_on_create` is off.
    CreateIgnored,
    /// A status with no event type in `cdc.status_map`.
    UnmappedStatus,
}

impl SkipReason {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Tombstone => "tombstone",
            SkipReason::Delete => "delete",
            SkipReason::Snapshot => "snapshot",
            SkipReason::NoTransition => "no_transition",
            SkipReason::CreateIgnored => "create_ignored",
            SkipReason::UnmappedStatus => "unmapped_status",
        }
    }
}

/// Why a change cannot be turned into an event. The record is quarantined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    /// An insert or update without the row after it.
    #[error("the change has no \"after\" row")]
    MissingAfter,
    /// A required column is absent or null.
    #[error("column {0:?} is missing or null")]
    MissingColumn(String),
    /// A column has a value of the wrong kind.
    #[error("column {column:?} must be {expected}")]
    WrongType {
        /// The column.
        column: String,
        /// What it should hold.
        expected: &'static str,
    },
}

/// Maps changes to events, following the `[cdc]` configuration.
#[derive(Debug, Clone)]
pub struct Mapper {
    cdc: CdcConfig,
    status_map: HashMap<String, EventType>,
    tracking_url: Option<TrackingUrlTemplate>,
}

impl Mapper {
    /// Builds a mapper. The configuration was validated at load, so every
    /// mapped event type name is known; an unknown one is dropped.
    pub fn new(cdc: &CdcConfig) -> Self {
        let status_map = cdc
            .status_map
            .iter()
            .filter_map(|(status, ty)| EventType::from_str(ty).ok().map(|t| (status.clone(), t)))
            .collect();
        Mapper {
            cdc: cdc.clone(),
            status_map,
            tracking_url: None,
        }
    }

    /// Gives every event a tracking URL made from `template`.
    pub fn with_tracking_url(mut self, template: Option<TrackingUrlTemplate>) -> Self {
        self.tracking_url = template;
        self
    }

    /// Maps one change.
    pub fn map(&self, change: &Change) -> Result<Mapped, MappingError> {
        if let Some(reason) = self.skipped_op(change.op) {
            return Ok(Mapped::Skip(reason));
        }
        let after = change.after.as_ref().ok_or(MappingError::MissingAfter)?;
        let transition = match self.transition(change, after)? {
            Ok(t) => t,
            Err(reason) => return Ok(Mapped::Skip(reason)),
        };
        let mut data = self.event_data(change, after, transition)?;
        data.clear_fields_not_applicable();
        Ok(Mapped::Event(Box::new(data)))
    }

    /// Why a change of this kind makes no event, if it makes none.
    fn skipped_op(&self, op: Op) -> Option<SkipReason> {
        match op {
            Op::Delete => Some(SkipReason::Delete),
            Op::Read => Some(SkipReason::Snapshot),
            Op::Create if !self.cdc.emit_on_create => Some(SkipReason::CreateIgnored),
            Op::Create | Op::Update => None,
        }
    }

    /// The row's status change and its event type; or why it makes no event
    /// (the inner error), or why the record is bad (the outer one).
    fn transition(
        &self,
        change: &Change,
        after: &Row,
    ) -> Result<Result<Transition, SkipReason>, MappingError> {
        let cols = &self.cdc.columns;
        let status = required_text(after, &cols.status)?;
        let previous_status = match (&change.before, change.op) {
            (Some(before), Op::Update) => text(before, &cols.status)?,
            _ => None,
        };
        if previous_status.as_deref() == Some(status.as_str()) {
            return Ok(Err(SkipReason::NoTransition));
        }
        let Some(&event_type) = self.status_map.get(&status) else {
            return Ok(Err(SkipReason::UnmappedStatus));
        };
        Ok(Ok(Transition {
            status,
            previous_status,
            event_type,
        }))
    }

    /// The event of a status change: the configured columns read from the
    /// row after it.
    fn event_data(
        &self,
        change: &Change,
        after: &Row,
        transition: Transition,
    ) -> Result<EventData, MappingError> {
        let cols = &self.cdc.columns;
        let Transition {
            status,
            previous_status,
            event_type,
        } = transition;
        let order_id = required_text(after, &cols.order_id)?;
        let partner_id = required_text(after, &cols.partner_id)?;
        let occurred_at = match opt_col(&cols.occurred_at)
            .map(|c| timestamp(after, c))
            .transpose()?
            .flatten()
        {
            Some(at) => at,
            None => source_time(change),
        };
        let o = opt_col;
        let mut data = EventData {
            event_id: event_id(change, &order_id, &status),
            event_type,
            occurred_at,
            // Assigned in the ingest transaction, where the order's counter is.
            sequence: 0,
            tracking_url: self
                .tracking_url
                .as_ref()
                .map(|t| t.url(&partner_id, &order_id)),
            is_test: false,
            partner_id,
            order_id,
            merchant_order_ref: optional(after, o(&cols.merchant_order_ref), text)?,
            customer_id: optional(after, o(&cols.customer_id), text)?,
            status,
            previous_status,
            rider_name: optional(after, o(&cols.rider_name), text)?,
            rider_phone_masked: optional(after, o(&cols.rider_phone), text)?
                .map(|p| mask_phone(&p)),
            delivery_otp: optional(after, o(&cols.delivery_otp), text)?.map(Into::into),
            estimated_delivery_window: None,
            delivery_timestamp: optional(after, o(&cols.delivery_timestamp), timestamp)?,
            delivery_address_confirmed: optional(
                after,
                o(&cols.delivery_address_confirmed),
                boolean,
            )?,
            failure_reason_code: optional(after, o(&cols.failure_reason_code), text)?,
            failure_reason: optional(after, o(&cols.failure_reason), text)?,
            attempt_number: optional(after, o(&cols.attempt_number), integer)?,
            return_id: optional(after, o(&cols.return_id), text)?,
            return_reason_code: optional(after, o(&cols.return_reason_code), text)?,
            return_reason: optional(after, o(&cols.return_reason), text)?,
            return_condition_flags: optional(after, o(&cols.return_condition_flags), string_list)?,
            pickup_timestamp: optional(after, o(&cols.pickup_timestamp), timestamp)?,
            // A bad number is no reason to quarantine the event: it only
            // means no SMS, which the outbox records.
            customer_phone: PhoneOnRecord::from_column(
                optional(after, o(&cols.customer_phone), text)
                    .ok()
                    .flatten()
                    .as_deref(),
            ),
        };
        let start = optional(after, o(&cols.eta_start), timestamp)?;
        let end = optional(after, o(&cols.eta_end), timestamp)?;
        if let (Some(start), Some(end)) = (start, end) {
            data.estimated_delivery_window = Some(TimeWindow { start, end });
        }
        Ok(data)
    }
}

/// A status change that maps to an event type.
struct Transition {
    status: String,
    previous_status: Option<String>,
    event_type: EventType,
}

/// When the source committed the change; falls back to when the connector saw
/// it, and last to now.
fn source_time(change: &Change) -> DateTime<Utc> {
    change
        .source
        .get("ts_ms")
        .and_then(Value::as_i64)
        .or(change.ts_ms)
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
}

/// The event id is a hash of the change's identity: the table, the row, the
/// source position (binlog file and position, LSN or GTID, whichever the
/// connector gives) and the new status. Consuming the same record again gives
/// the same id, which is what lets partners deduplicate.
fn event_id(change: &Change, order_id: &str, status: &str) -> String {
    let field = |k: &str| match change.source.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    // The position alone identifies the change; the connector's own clock is
    // used only when the source gives no position, since a connector that
    // re-reads the log after a restart stamps the same change anew.
    let position = [
        field("file"),
        field("pos"),
        field("row"),
        field("lsn"),
        field("gtid"),
    ];
    let clocks = if position.iter().all(String::is_empty) {
        [
            field("ts_ms"),
            change.ts_ms.map(|t| t.to_string()).unwrap_or_default(),
        ]
    } else {
        Default::default()
    };
    let mut h = Sha256::new();
    let identity = [
        field("name"),
        field("db"),
        field("table"),
        order_id.to_owned(),
    ];
    for part in identity
        .iter()
        .chain(&position)
        .chain(&clocks)
        .chain([&status.to_owned()])
    {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    format!("evt_{}", hex::encode(&h.finalize()[..16]))
}
