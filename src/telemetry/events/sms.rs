//! SMS to end customers: one counter, by partner and outcome. Neither the
//! number nor the text is ever a label or a log field here.

use crate::telemetry::catalogue::SMS;

/// What happened to an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsOutcome {
    /// The gateway took it.
    Accepted,
    /// The gateway was down or refused; a retry is scheduled.
    Retried,
    /// Refused for good, out of retries, or reported undelivered.
    Failed,
    /// The delivery report says the handset received it.
    Delivered,
    /// The operator gave up delivering it.
    Expired,
    /// The customer replied STOP (counted once per merchant opted out of).
    OptedOut,
    /// The order row had no phone number.
    NoPhone,
    /// The order row's phone number is not a mobile number.
    InvalidPhone,
}

impl SmsOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsOutcome::Accepted => "accepted",
            SmsOutcome::Retried => "retried",
            SmsOutcome::Failed => "failed",
            SmsOutcome::Delivered => "delivered",
            SmsOutcome::Expired => "expired",
            SmsOutcome::OptedOut => "opted_out",
            SmsOutcome::NoPhone => "no_phone",
            SmsOutcome::InvalidPhone => "invalid_phone",
        }
    }

    /// The outcome a stored state counts as, if it is one.
    pub fn of_state(state: &str) -> Option<SmsOutcome> {
        Some(match state {
            "accepted" => SmsOutcome::Accepted,
            "delivered" => SmsOutcome::Delivered,
            "failed" => SmsOutcome::Failed,
            "expired" => SmsOutcome::Expired,
            "opted_out" => SmsOutcome::OptedOut,
            "no_phone" => SmsOutcome::NoPhone,
            "invalid_phone" => SmsOutcome::InvalidPhone,
            _ => return None,
        })
    }
}

/// An SMS of `partner` reached `outcome`.
pub struct SmsCounted<'a> {
    /// The partner.
    pub partner: &'a str,
    /// What happened.
    pub outcome: SmsOutcome,
}

impl SmsCounted<'_> {
    /// Counts it.
    pub fn emit(self) {
        metrics::counter!(SMS.name, "partner" => self.partner.to_owned(), "outcome" => self.outcome.as_str())
            .increment(1);
    }
}
