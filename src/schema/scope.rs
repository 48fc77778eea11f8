//! Which optional fields apply to which event type: the "filled for" column of the
//! contract, kept in one table ([`ScopedField::applies_to`]).

use super::{EventData, EventType};

/// A field of [`EventData`] that applies only to some event types. Fields that apply to
/// every type (even when nullable, like `customer_id`) are not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopedField {
    /// `rider_name`
    RiderName,
    /// `rider_phone_masked`
    RiderPhoneMasked,
    /// `delivery_otp`
    DeliveryOtp,
    /// `estimated_delivery_window`
    EstimatedDeliveryWindow,
    /// `delivery_timestamp`
    DeliveryTimestamp,
    /// `delivery_address_confirmed`
    DeliveryAddressConfirmed,
    /// `failure_reason_code`
    FailureReasonCode,
    /// `failure_reason`
    FailureReason,
    /// `attempt_number`
    AttemptNumber,
    /// `return_id`
    ReturnId,
    /// `return_reason_code`
    ReturnReasonCode,
    /// `return_reason`
    ReturnReason,
    /// `return_condition_flags`
    ReturnConditionFlags,
    /// `pickup_timestamp`
    PickupTimestamp,
}

impl ScopedField {
    /// Every scoped field, in payload key order.
    pub const ALL: [ScopedField; 14] = [
        ScopedField::RiderName,
        ScopedField::RiderPhoneMasked,
        ScopedField::DeliveryOtp,
        ScopedField::EstimatedDeliveryWindow,
        ScopedField::DeliveryTimestamp,
        ScopedField::DeliveryAddressConfirmed,
        ScopedField::FailureReasonCode,
        ScopedField::FailureReason,
        ScopedField::AttemptNumber,
        ScopedField::ReturnId,
        ScopedField::ReturnReasonCode,
        ScopedField::ReturnReason,
        ScopedField::ReturnConditionFlags,
        ScopedField::PickupTimestamp,
    ];

    /// The event types this field is filled for; for all others it is `null`.
    pub fn applies_to(self) -> &'static [EventType] {
        use EventType as E;
        use ScopedField as F;
        match self {
            F::RiderName | F::RiderPhoneMasked | F::DeliveryOtp | F::EstimatedDeliveryWindow => {
                &[E::OutForDelivery]
            }
            F::DeliveryTimestamp | F::DeliveryAddressConfirmed => &[E::Delivered],
            F::FailureReasonCode | F::FailureReason => &[E::DeliveryFailed],
            F::AttemptNumber => &[E::Delivered, E::DeliveryFailed],
            F::ReturnId | F::ReturnReasonCode | F::ReturnReason | F::ReturnConditionFlags => {
                &[E::ReturnInitiated, E::ReturnPickedUp]
            }
            F::PickupTimestamp => &[E::ReturnPickedUp],
        }
    }

    /// Whether this field may be filled for `event_type`.
    pub fn applies(self, event_type: EventType) -> bool {
        self.applies_to().contains(&event_type)
    }

    /// The field's name in [`EventData`], which is also its v1 payload key.
    pub fn name(self) -> &'static str {
        match self {
            ScopedField::RiderName => "rider_name",
            ScopedField::RiderPhoneMasked => "rider_phone_masked",
            ScopedField::DeliveryOtp => "delivery_otp",
            ScopedField::EstimatedDeliveryWindow => "estimated_delivery_window",
            ScopedField::DeliveryTimestamp => "delivery_timestamp",
            ScopedField::DeliveryAddressConfirmed => "delivery_address_confirmed",
            ScopedField::FailureReasonCode => "failure_reason_code",
            ScopedField::FailureReason => "failure_reason",
            ScopedField::AttemptNumber => "attempt_number",
            ScopedField::ReturnId => "return_id",
            ScopedField::ReturnReasonCode => "return_reason_code",
            ScopedField::ReturnReason => "return_reason",
            ScopedField::ReturnConditionFlags => "return_condition_flags",
            ScopedField::PickupTimestamp => "pickup_timestamp",
        }
    }

    /// Where this field sits in the v2 payload: (group, key).
    pub fn v2_path(self) -> (&'static str, &'static str) {
        match self {
            ScopedField::RiderName => ("rider", "name"),
            ScopedField::RiderPhoneMasked => ("rider", "phone_masked"),
            ScopedField::DeliveryOtp => ("delivery", "otp"),
            ScopedField::EstimatedDeliveryWindow => ("delivery", "estimated_window"),
            ScopedField::DeliveryTimestamp => ("delivery", "delivered_at"),
            ScopedField::DeliveryAddressConfirmed => ("delivery", "address_confirmed"),
            ScopedField::FailureReasonCode => ("delivery", "failure_reason_code"),
            ScopedField::FailureReason => ("delivery", "failure_reason"),
            ScopedField::AttemptNumber => ("delivery", "attempt_number"),
            ScopedField::ReturnId => ("return", "id"),
            ScopedField::ReturnReasonCode => ("return", "reason_code"),
            ScopedField::ReturnReason => ("return", "reason"),
            ScopedField::ReturnConditionFlags => ("return", "condition_flags"),
            ScopedField::PickupTimestamp => ("return", "picked_up_at"),
        }
    }

    /// Whether `data` has a value in this field.
    pub fn is_set(self, data: &EventData) -> bool {
        match self {
            ScopedField::RiderName => data.rider_name.is_some(),
            ScopedField::RiderPhoneMasked => data.rider_phone_masked.is_some(),
            ScopedField::DeliveryOtp => data.delivery_otp.is_some(),
            ScopedField::EstimatedDeliveryWindow => data.estimated_delivery_window.is_some(),
            ScopedField::DeliveryTimestamp => data.delivery_timestamp.is_some(),
            ScopedField::DeliveryAddressConfirmed => data.delivery_address_confirmed.is_some(),
            ScopedField::FailureReasonCode => data.failure_reason_code.is_some(),
            ScopedField::FailureReason => data.failure_reason.is_some(),
            ScopedField::AttemptNumber => data.attempt_number.is_some(),
            ScopedField::ReturnId => data.return_id.is_some(),
            ScopedField::ReturnReasonCode => data.return_reason_code.is_some(),
            ScopedField::ReturnReason => data.return_reason.is_some(),
            ScopedField::ReturnConditionFlags => data.return_condition_flags.is_some(),
            ScopedField::PickupTimestamp => data.pickup_timestamp.is_some(),
        }
    }

    /// Sets this field of `data` to `None`.
    pub fn clear(self, data: &mut EventData) {
        match self {
            ScopedField::RiderName => data.rider_name = None,
            ScopedField::RiderPhoneMasked => data.rider_phone_masked = None,
            ScopedField::DeliveryOtp => data.delivery_otp = None,
            ScopedField::EstimatedDeliveryWindow => data.estimated_delivery_window = None,
            ScopedField::DeliveryTimestamp => data.delivery_timestamp = None,
            ScopedField::DeliveryAddressConfirmed => data.delivery_address_confirmed = None,
            ScopedField::FailureReasonCode => data.failure_reason_code = None,
            ScopedField::FailureReason => data.failure_reason = None,
            ScopedField::AttemptNumber => data.attempt_number = None,
            ScopedField::ReturnId => data.return_id = None,
            ScopedField::ReturnReasonCode => data.return_reason_code = None,
            ScopedField::ReturnReason => data.return_reason = None,
            ScopedField::ReturnConditionFlags => data.return_condition_flags = None,
            ScopedField::PickupTimestamp => data.pickup_timestamp = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_contract_examples() {
        use EventType as E;
        assert!(ScopedField::DeliveryOtp.applies(E::OutForDelivery));
        assert!(!ScopedField::DeliveryOtp.applies(E::Delivered));
        assert!(ScopedField::AttemptNumber.applies(E::Delivered));
        assert!(ScopedField::AttemptNumber.applies(E::DeliveryFailed));
        assert!(!ScopedField::AttemptNumber.applies(E::OutForDelivery));
        assert!(ScopedField::ReturnConditionFlags.applies(E::ReturnInitiated));
        assert!(!ScopedField::PickupTimestamp.applies(E::ReturnInitiated));
        assert!(ScopedField::PickupTimestamp.applies(E::ReturnPickedUp));
    }

    #[test]
    fn order_confirmed_has_no_scoped_fields() {
        assert!(ScopedField::ALL
            .iter()
            .all(|field| !field.applies(EventType::OrderConfirmed)));
    }

    #[test]
    fn field_names_match_the_stored_json_keys() {
        let data = crate::schema::synthetic(
            EventType::OutForDelivery,
            "partner_1",
            chrono::DateTime::UNIX_EPOCH,
        );
        let stored = serde_json::to_value(data).unwrap();
        for field in ScopedField::ALL {
            assert!(stored.get(field.name()).is_some(), "{}", field.name());
        }
    }
}
