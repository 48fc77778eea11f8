//! Applying the dispatch service's answer to an event.

use chrono::DateTime;

use super::Assignment;
use crate::schema::{mask_phone, EventData, Otp, TimeWindow};

/// Fills the rider, OTP and window of `event` from `assignment`. Fields the
/// dispatch service sends replace those from the CDC row: they are the state
/// at trigger time. The phone is masked here, before the event is stored or
/// sent; the unmasked number goes no further than this function.
pub fn apply(event: &mut EventData, assignment: Assignment) {
    if let Some(name) = assignment.rider_name.filter(|n| !n.trim().is_empty()) {
        event.rider_name = Some(name);
    }
    if let Some(phone) = assignment.rider_phone.filter(|p| !p.trim().is_empty()) {
        event.rider_phone_masked = Some(mask_phone(&phone));
    }
    if let Some(otp) = assignment.delivery_otp.filter(|o| !o.is_empty()) {
        event.delivery_otp = Some(Otp::new(otp));
    }
    let start = assignment
        .eta_start_ms
        .and_then(DateTime::from_timestamp_millis);
    let end = assignment
        .eta_end_ms
        .and_then(DateTime::from_timestamp_millis);
    // A window with its ends reversed is not one; keep what the row had.
    if let (Some(start), Some(end)) = (start, end) {
        if start <= end {
            event.estimated_delivery_window = Some(TimeWindow { start, end });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{synthetic, EventType};

    fn assignment() -> Assignment {
        Assignment {
            order_id: "A-1".into(),
            rider_name: Some("Asha Rao".into()),
            rider_phone: Some("+91 99887 76655".into()),
            delivery_otp: Some("5190".into()),
            eta_start_ms: Some(1_741_944_600_000),
            eta_end_ms: Some(1_741_946_400_000),
        }
    }

    #[test]
    fn the_assignment_replaces_the_row_values_and_the_phone_is_masked() {
        let mut event = synthetic(EventType::OutForDelivery, "p", chrono::Utc::now());
        apply(&mut event, assignment());
        assert_eq!(event.rider_name.as_deref(), Some("Asha Rao"));
        assert_eq!(event.rider_phone_masked.as_deref(), Some("+91 ***** ***55"));
        assert_eq!(event.delivery_otp.as_ref().map(Otp::expose), Some("5190"));
        let window = event.estimated_delivery_window.unwrap();
        assert_eq!(window.start.timestamp_millis(), 1_741_944_600_000);
        assert_eq!(window.end.timestamp_millis(), 1_741_946_400_000);
    }

    #[test]
    fn missing_or_reversed_parts_leave_the_row_values() {
        let mut event = synthetic(EventType::OutForDelivery, "p", chrono::Utc::now());
        let before = event.clone();
        let mut partial = assignment();
        partial.rider_name = None;
        partial.rider_phone = Some(" ".into());
        partial.eta_start_ms = Some(2_000_000_000_000);
        apply(&mut event, partial);
        assert_eq!(event.rider_name, before.rider_name);
        assert_eq!(event.rider_phone_masked, before.rider_phone_masked);
        assert_eq!(
            event.estimated_delivery_window,
            before.estimated_delivery_window
        );
    }
}
