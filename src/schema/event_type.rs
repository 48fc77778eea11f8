//! The six order events partners can subscribe to.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What happened to an order. Serialized in snake_case (`out_for_delivery`), the same
/// string as [`EventType::as_str`], which is also the `webhook-event-type` header value.
///
/// The declaration order follows an order's life, so sorting event types reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// The merchant's order was accepted into the OMS.
    OrderConfirmed,
    /// A rider has the parcel and is on the way; carries rider details and the OTP.
    OutForDelivery,
    /// The parcel was handed over.
    Delivered,
    /// A delivery attempt did not succeed.
    DeliveryFailed,
    /// The end customer asked to send the parcel back.
    ReturnInitiated,
    /// The return was collected from the end customer.
    ReturnPickedUp,
}

impl EventType {
    /// Every event type, in lifecycle order.
    pub const ALL: [EventType; 6] = [
        EventType::OrderConfirmed,
        EventType::OutForDelivery,
        EventType::Delivered,
        EventType::DeliveryFailed,
        EventType::ReturnInitiated,
        EventType::ReturnPickedUp,
    ];

    /// The wire name, e.g. `"out_for_delivery"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderConfirmed => "order_confirmed",
            EventType::OutForDelivery => "out_for_delivery",
            EventType::Delivered => "delivered",
            EventType::DeliveryFailed => "delivery_failed",
            EventType::ReturnInitiated => "return_initiated",
            EventType::ReturnPickedUp => "return_picked_up",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names none of the six event types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown event type `{0}`: expected one of order_confirmed, out_for_delivery, delivered, \
     delivery_failed, return_initiated, return_picked_up"
)]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    /// Parses the exact wire name; no case folding, so what is stored is what is sent.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_round_trips_through_its_name() {
        for event_type in EventType::ALL {
            assert_eq!(event_type.as_str().parse(), Ok(event_type));
            assert_eq!(event_type.to_string(), event_type.as_str());
        }
    }

    #[test]
    fn serde_names_match_the_wire_names() {
        for event_type in EventType::ALL {
            let json = serde_json::to_string(&event_type).unwrap();
            assert_eq!(json, format!("\"{}\"", event_type.as_str()));
            let back: EventType = serde_json::from_str(&json).unwrap();
            assert_eq!(back, event_type);
        }
    }

    #[test]
    fn an_unknown_name_is_rejected_with_the_valid_names_listed() {
        let err = "Delivered".parse::<EventType>().unwrap_err();
        assert_eq!(err, UnknownEventType("Delivered".into()));
        let message = err.to_string();
        assert!(message.contains("`Delivered`"));
        for event_type in EventType::ALL {
            assert!(message.contains(event_type.as_str()), "{message}");
        }
    }
}
