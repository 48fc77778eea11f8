//! Realistic test events for the portal's "send test event" button and the demo.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::{mask_phone, EventData, EventType, Otp, TimeWindow, TrackingUrlTemplate};

/// What makes a test event look like this installation's live events: the OMS
/// statuses `[cdc.status_map]` maps to each event type, and the tracking URL
/// template. Code written against a test event then works on live traffic.
#[derive(Debug, Clone, Default)]
pub struct LiveShape {
    /// The first OMS status (in the map's order) mapped to each type.
    statuses: BTreeMap<EventType, String>,
    tracking_url: Option<TrackingUrlTemplate>,
}

impl LiveShape {
    /// The shape given by `status_map` (OMS status -> event type) and the
    /// tracking URL template.
    pub fn new<'a>(
        status_map: impl IntoIterator<Item = (&'a str, EventType)>,
        tracking_url: Option<TrackingUrlTemplate>,
    ) -> Self {
        let mut statuses = BTreeMap::new();
        for (status, event_type) in status_map {
            statuses
                .entry(event_type)
                .or_insert_with(|| status.to_owned());
        }
        LiveShape {
            statuses,
            tracking_url,
        }
    }

    /// A test event of `event_type`, as [`synthetic`] makes it, with the
    /// statuses and tracking URL a live event of this installation carries.
    pub fn test_event(
        &self,
        event_type: EventType,
        partner_id: &str,
        now: DateTime<Utc>,
    ) -> EventData {
        let mut event = synthetic(event_type, partner_id, now);
        if let Some(status) = self.statuses.get(&event_type) {
            event.status = status.clone();
            // The status an order has before this transition in a live
            // event; an order that starts here was inserted with no before.
            event.previous_status =
                preceding(event_type).and_then(|before| self.statuses.get(&before).cloned());
        }
        event.tracking_url = self
            .tracking_url
            .as_ref()
            .map(|t| t.url(partner_id, &event.order_id));
        event
    }
}

/// The event type an order usually passes through just before `event_type`.
fn preceding(event_type: EventType) -> Option<EventType> {
    match event_type {
        EventType::OrderConfirmed => None,
        EventType::OutForDelivery => Some(EventType::OrderConfirmed),
        EventType::Delivered | EventType::DeliveryFailed => Some(EventType::OutForDelivery),
        EventType::ReturnInitiated => Some(EventType::Delivered),
        EventType::ReturnPickedUp => Some(EventType::ReturnInitiated),
    }
}

/// A test event of `event_type` for `partner_id`, happening at `now`: `is_test` is true,
/// the id is `evt_test_<32 random hex digits>`, and every field that applies to the type
/// is filled (the others are `None`), so partners see the full shape of a real event.
pub fn synthetic(event_type: EventType, partner_id: &str, now: DateTime<Utc>) -> EventData {
    let mut rng = rand::thread_rng();
    let (status, previous_status) = example_transition(event_type);
    // Built with every optional field set, then cut down by the one applicability table,
    // so this function cannot drift from the contract.
    let mut event = EventData {
        event_id: format!("evt_test_{:032x}", rng.gen::<u128>()),
        event_type,
        occurred_at: now,
        // A test event stands alone: it is the first and only of its order.
        sequence: 1,
        tracking_url: None,
        is_test: true,
        partner_id: partner_id.to_owned(),
        order_id: format!("ord_test_{:08x}", rng.gen::<u32>()),
        merchant_order_ref: Some(format!("TEST-{}", rng.gen_range(100_000..1_000_000))),
        customer_id: Some("cust_test_0001".to_owned()),
        status: status.to_owned(),
        previous_status: Some(previous_status.to_owned()),
        rider_name: Some("Ravi Kumar".to_owned()),
        rider_phone_masked: Some(mask_phone("+91 98765 43210")),
        delivery_otp: Some(Otp::new(format!("{:04}", rng.gen_range(0..10_000)))),
        estimated_delivery_window: Some(TimeWindow {
            start: now + Duration::minutes(30),
            end: now + Duration::minutes(90),
        }),
        delivery_timestamp: Some(now),
        delivery_address_confirmed: Some(true),
        failure_reason_code: Some("CUSTOMER_UNAVAILABLE".to_owned()),
        failure_reason: Some("Customer not reachable at the delivery address".to_owned()),
        attempt_number: Some(1),
        return_id: Some(format!("ret_test_{:08x}", rng.gen::<u32>())),
        return_reason_code: Some("SIZE_ISSUE".to_owned()),
        return_reason: Some("Item does not fit".to_owned()),
        return_condition_flags: Some(vec!["tags_intact".to_owned(), "box_opened".to_owned()]),
        pickup_timestamp: Some(now),
        customer_phone: Default::default(),
    };
    event.clear_fields_not_applicable();
    event
}

/// Plausible OMS statuses (after, before) for a test event of a type no
/// configured status maps to; [`LiveShape`] uses the configured ones.
fn example_transition(event_type: EventType) -> (&'static str, &'static str) {
    match event_type {
        EventType::OrderConfirmed => ("confirmed", "created"),
        EventType::OutForDelivery => ("out_for_delivery", "packed"),
        EventType::Delivered => ("delivered", "out_for_delivery"),
        EventType::DeliveryFailed => ("delivery_failed", "out_for_delivery"),
        EventType::ReturnInitiated => ("return_initiated", "delivered"),
        EventType::ReturnPickedUp => ("return_picked_up", "return_initiated"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ScopedField;

    fn now() -> DateTime<Utc> {
        "2025-03-14T09:26:53.589Z".parse().unwrap()
    }

    #[test]
    fn a_test_event_fills_exactly_the_fields_that_apply() {
        for event_type in EventType::ALL {
            let event = synthetic(event_type, "partner_42", now());
            for field in ScopedField::ALL {
                assert_eq!(
                    field.is_set(&event),
                    field.applies(event_type),
                    "{} for {event_type}",
                    field.name()
                );
            }
        }
    }

    #[test]
    fn a_test_event_is_marked_as_a_test_and_has_a_test_id() {
        let event = synthetic(EventType::Delivered, "partner_42", now());
        assert!(event.is_test);
        assert_eq!(event.partner_id, "partner_42");
        assert_eq!(event.occurred_at, now());
        let hex = event.event_id.strip_prefix("evt_test_").unwrap();
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn two_test_events_have_different_ids() {
        let a = synthetic(EventType::Delivered, "partner_42", now());
        let b = synthetic(EventType::Delivered, "partner_42", now());
        assert_ne!(a.event_id, b.event_id);
    }

    fn shape() -> LiveShape {
        LiveShape::new(
            [
                ("CONFIRMED", EventType::OrderConfirmed),
                ("OUT_FOR_DELIVERY", EventType::OutForDelivery),
                ("SHIPPED", EventType::OutForDelivery),
                ("DELIVERED", EventType::Delivered),
            ],
            Some(TrackingUrlTemplate::parse("https://track.example.com/{order_id}").unwrap()),
        )
    }

    #[test]
    fn a_test_event_carries_the_configured_statuses_of_its_type() {
        let event = shape().test_event(EventType::Delivered, "partner_42", now());
        assert_eq!(event.status, "DELIVERED");
        assert_eq!(event.previous_status.as_deref(), Some("OUT_FOR_DELIVERY"));
        let event = shape().test_event(EventType::OutForDelivery, "partner_42", now());
        assert_eq!(event.status, "OUT_FOR_DELIVERY");
        assert_eq!(event.previous_status.as_deref(), Some("CONFIRMED"));
        let event = shape().test_event(EventType::OrderConfirmed, "partner_42", now());
        assert_eq!(event.status, "CONFIRMED");
        assert_eq!(event.previous_status, None);
    }

    #[test]
    fn a_test_event_gets_the_tracking_url_live_events_get() {
        let event = shape().test_event(EventType::Delivered, "partner_42", now());
        assert_eq!(
            event.tracking_url,
            Some(format!("https://track.example.com/{}", event.order_id))
        );
        let plain = LiveShape::default().test_event(EventType::Delivered, "partner_42", now());
        assert_eq!(plain.tracking_url, None);
    }

    #[test]
    fn the_rider_phone_is_masked() {
        let event = synthetic(EventType::OutForDelivery, "partner_42", now());
        assert_eq!(event.rider_phone_masked.as_deref(), Some("+91 ***** ***10"));
    }
}
