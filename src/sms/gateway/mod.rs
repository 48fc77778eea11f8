//! The seam between the outbox and whatever carries SMS to operators. One
//! implementation, [`kannel::Kannel`]; another provider is another impl.

pub mod kannel;

use std::future::Future;

use super::parts::Encoding;
use super::CustomerPhone;

/// One SMS as the gateway is asked to send it.
#[derive(Debug, Clone)]
pub struct OutgoingSms<'a> {
    /// The outbox row id: delivery reports name it.
    pub id: i64,
    /// The recipient.
    pub to: &'a CustomerPhone,
    /// The registered sender header.
    pub sender_header: &'a str,
    /// The rendered text. It may hold an OTP: never log it.
    pub text: &'a str,
    /// The alphabet it goes in.
    pub encoding: Encoding,
    /// DLT principal entity id.
    pub entity_id: &'a str,
    /// DLT content template id.
    pub dlt_template_id: &'a str,
}

/// Why a send did not go through, as far as retrying is concerned.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Unreachable, timed out, or answered that it cannot take it now:
    /// retry later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused this message as such (bad request, auth):
    /// retrying sends the same refusal.
    #[error("gateway refused the SMS: {0}")]
    Refused(String),
}

/// Sends SMS. Accepting means the gateway took responsibility for the
/// message; the outcome arrives later as a delivery report.
pub trait SmsGateway: Send + Sync + 'static {
    /// Hands one SMS to the gateway.
    fn send(&self, sms: &OutgoingSms<'_>) -> impl Future<Output = Result<(), GatewayError>> + Send;
}
