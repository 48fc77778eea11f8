//! The canonical content of an event, independent of any payload version.

use std::{borrow::Cow, fmt};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EventType, ScopedField};

/// A time range, e.g. when the rider expects to arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Earliest expected time.
    pub start: DateTime<Utc>,
    /// Latest expected time.
    pub end: DateTime<Utc>,
}

/// A delivery OTP. Its `Debug` prints `Otp(***)` and it has no `Display`, so an OTP cannot
/// reach a log line by formatting an event; [`Otp::expose`] is the one explicit way out.
/// Serializes as a plain string, because partners must receive it and the store must keep it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Otp(String);

impl Otp {
    /// Wraps an OTP received from the dispatch service.
    pub fn new(otp: impl Into<String>) -> Self {
        Otp(otp.into())
    }

    /// The OTP itself, for the payload sent to the partner and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(***)")
    }
}

impl From<String> for Otp {
    fn from(otp: String) -> Self {
        Otp(otp)
    }
}

/// The canonical, version-independent content of one event: stored as jsonb in
/// PostgreSQL and rendered per schema version by [`super::render`].
///
/// Fields that apply only to some event types are `Option`s; which ones apply to which
/// type is decided in one place, [`ScopedField::applies_to`]. Keys missing from an older
/// stored row read as `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// Stable across retries and replays; derived from the source change. Also the
    /// `webhook-id` header.
    pub event_id: String,
    /// What happened.
    pub event_type: EventType,
    /// When the status changed in the OMS.
    pub occurred_at: DateTime<Utc>,
    /// Position of this event among the events of its order, from 1, assigned
    /// in the ingest transaction, so a partner can drop an event that arrives
    /// after a newer one of the same order. 0 only for events stored before
    /// sequencing existed.
    #[serde(default)]
    pub sequence: i64,
    /// Where the end customer can follow the order, from
    /// `schema.tracking_url_template`; `None` when no template is configured.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// True only for the portal's test events.
    pub is_test: bool,
    /// The partner the order belongs to.
    pub partner_id: String,
    /// The OMS order id.
    pub order_id: String,
    /// The merchant's own order reference, when known.
    pub merchant_order_ref: Option<String>,
    /// The merchant's customer id, when known.
    pub customer_id: Option<String>,
    /// OMS status after the transition.
    pub status: String,
    /// OMS status before the transition; `None` for an order created straight into a
    /// mapped status.
    pub previous_status: Option<String>,
    /// Rider's display name (out_for_delivery).
    pub rider_name: Option<String>,
    /// Rider's phone, already masked with [`super::mask_phone`] (out_for_delivery).
    pub rider_phone_masked: Option<String>,
    /// Delivery OTP for the end customer (out_for_delivery). Never logged.
    pub delivery_otp: Option<Otp>,
    /// When the rider expects to arrive (out_for_delivery).
    pub estimated_delivery_window: Option<TimeWindow>,
    /// When the parcel was handed over (delivered).
    pub delivery_timestamp: Option<DateTime<Utc>>,
    /// Whether the rider confirmed the delivery address (delivered).
    pub delivery_address_confirmed: Option<bool>,
    /// Machine-readable failure reason (delivery_failed).
    pub failure_reason_code: Option<String>,
    /// Human-readable failure reason (delivery_failed).
    pub failure_reason: Option<String>,
    /// Delivery attempt count of the order, from 1 (delivered, delivery_failed).
    pub attempt_number: Option<i64>,
    /// The return's id (return_initiated, return_picked_up).
    pub return_id: Option<String>,
    /// Machine-readable return reason (return_initiated, return_picked_up).
    pub return_reason_code: Option<String>,
    /// Human-readable return reason (return_initiated, return_picked_up).
    pub return_reason: Option<String>,
    /// Condition flags recorded for the returned item (return_initiated, return_picked_up).
    pub return_condition_flags: Option<Vec<String>>,
    /// When the return was collected (return_picked_up).
    pub pickup_timestamp: Option<DateTime<Utc>>,
    /// The end customer's phone from the CDC row, for the built-in SMS only:
    /// never in a payload and never in `events.data`.
    #[serde(skip)]
    pub customer_phone: crate::sms::phone::PhoneOnRecord,
}

impl EventData {
    /// Sets to `None` every field that does not apply to this event's type, so that what
    /// is stored is exactly what the contract allows partners to see.
    pub fn clear_fields_not_applicable(&mut self) {
        for field in self.fields_not_applicable() {
            field.clear(self);
        }
    }

    /// This event as the contract allows it to be sent: borrowed when it already is
    /// (the usual case), a cleared copy when some not-applicable field is set.
    pub(crate) fn as_contract(&self) -> Cow<'_, EventData> {
        if self.fields_not_applicable().any(|field| field.is_set(self)) {
            let mut cleared = self.clone();
            cleared.clear_fields_not_applicable();
            Cow::Owned(cleared)
        } else {
            Cow::Borrowed(self)
        }
    }

    fn fields_not_applicable(&self) -> impl Iterator<Item = ScopedField> {
        let event_type = self.event_type;
        ScopedField::ALL
            .into_iter()
            .filter(move |field| !field.applies(event_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::synthetic;

    fn now() -> DateTime<Utc> {
        "2025-03-14T09:26:53.589Z".parse().unwrap()
    }

    #[test]
    fn debug_output_does_not_contain_the_otp() {
        let mut event = synthetic(EventType::OutForDelivery, "partner_1", now());
        event.delivery_otp = Some(Otp::new("739164"));
        let debug = format!("{event:?}");
        assert!(!debug.contains("739164"), "{debug}");
        assert!(debug.contains("delivery_otp: Some(Otp(***))"), "{debug}");
        let pretty = format!("{event:#?}");
        assert!(!pretty.contains("739164"));
    }

    #[test]
    fn the_otp_serializes_as_a_plain_string() {
        let otp = Otp::new("4821");
        assert_eq!(serde_json::to_string(&otp).unwrap(), "\"4821\"");
        assert_eq!(serde_json::from_str::<Otp>("\"4821\"").unwrap(), otp);
    }

    #[test]
    fn event_data_round_trips_through_json_for_storage() {
        for event_type in EventType::ALL {
            let event = synthetic(event_type, "partner_1", now());
            let stored = serde_json::to_value(&event).unwrap();
            let back: EventData = serde_json::from_value(stored).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn clearing_nulls_exactly_the_fields_not_applicable() {
        for event_type in EventType::ALL {
            let mut event = event_with_every_field_set(event_type);
            event.clear_fields_not_applicable();
            for field in ScopedField::ALL {
                assert_eq!(
                    field.is_set(&event),
                    field.applies(event_type),
                    "{} for {event_type}",
                    field.name()
                );
            }
            // Fields that apply to every type are left alone.
            assert_eq!(event.merchant_order_ref.as_deref(), Some("SHOP-1042"));
            assert_eq!(event.previous_status.as_deref(), Some("packed"));
        }
    }

    #[test]
    fn as_contract_borrows_a_clean_event_and_clears_a_dirty_one() {
        let clean = synthetic(EventType::Delivered, "partner_1", now());
        assert!(matches!(clean.as_contract(), Cow::Borrowed(_)));

        let mut dirty = clean.clone();
        dirty.rider_name = Some("Ravi".into());
        let contract = dirty.as_contract();
        assert!(matches!(contract, Cow::Owned(_)));
        assert_eq!(*contract, clean);
    }

    /// An event of `event_type` with every optional field set, applicable or not.
    fn event_with_every_field_set(event_type: EventType) -> EventData {
        EventData {
            event_id: "evt_1".into(),
            event_type,
            occurred_at: now(),
            sequence: 4,
            tracking_url: Some("https://track.example.com/ord_1".into()),
            is_test: false,
            partner_id: "partner_1".into(),
            order_id: "ord_1".into(),
            merchant_order_ref: Some("SHOP-1042".into()),
            customer_id: Some("cust_9".into()),
            status: "some_status".into(),
            previous_status: Some("packed".into()),
            rider_name: Some("Ravi Kumar".into()),
            rider_phone_masked: Some("+91 ***** ***10".into()),
            delivery_otp: Some(Otp::new("4821")),
            estimated_delivery_window: Some(TimeWindow {
                start: now(),
                end: now(),
            }),
            delivery_timestamp: Some(now()),
            delivery_address_confirmed: Some(true),
            failure_reason_code: Some("CUSTOMER_UNAVAILABLE".into()),
            failure_reason: Some("Customer not reachable".into()),
            attempt_number: Some(2),
            return_id: Some("ret_1".into()),
            return_reason_code: Some("SIZE_ISSUE".into()),
            return_reason: Some("Does not fit".into()),
            return_condition_flags: Some(vec!["tags_intact".into()]),
            pickup_timestamp: Some(now()),
            customer_phone: Default::default(),
        }
    }
}
