//! Kannel's smsbox `sendsms` HTTP interface.
//!
//! Each SMS is one GET: the DLT ids go as SMPP optional parameters through
//! Kannel's `meta-data` (`?smpp?PE_ID=..&TEMPLATE_ID=..`, which bearerbox
//! sends as the TLVs its `smpp-tlv` groups define), and delivery reports are
//! requested with `dlr-mask` and a `dlr-url` back to trackwire that names
//! the outbox row and carries the callback token.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::{GatewayError, OutgoingSms, SmsGateway};
use crate::sms::parts::Encoding;

/// Reports asked for: delivered (1), undelivered (2), SMSC accepted (8),
/// SMSC rejected (16). Buffered (4) says nothing trackwire records.
pub const DLR_MASK: u8 = 1 | 2 | 8 | 16;

/// Where and how to reach Kannel, and where it reports back.
#[derive(Clone)]
pub struct KannelSettings {
    /// The smsbox `sendsms` URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub sendsms_url: Url,
    /// smsbox `sendsms-user` name.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The Kannel `smsc-id` to route through, if any.
    pub smsc_id: Option<String>,
    /// trackwire's base URL as Kannel reaches it (delivery reports).
    pub callback_base_url: String,
    /// The secret delivery reports carry.
    pub callback_token: String,
    /// Limit on one `sendsms` call.
    pub timeout: Duration,
}

/// The Kannel gateway.
#[derive(Clone)]
pub struct Kannel {
    settings: KannelSettings,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Kannel {
    /// A client for `settings`.
    pub fn new(settings: KannelSettings) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Kannel { settings, client }
    }

    /// The delivery report URL of SMS `id`. `%d` is Kannel's report type
    /// and `%A` the SMSC's reply (it says `stat:EXPIRED`).
    pub fn dlr_url(&self, id: i64) -> String {
        format!(
            "{}/sms/kannel/dlr?token={}&id={id}&type=%d&reply=%A",
            self.settings.callback_base_url.trim_end_matches('/'),
            self.settings.callback_token
        )
    }

    /// The full `sendsms` URL of one SMS.
    pub fn request_url(&self, sms: &OutgoingSms<'_>) -> Url {
        let mut url = self.settings.sendsms_url.clone();
        let meta = format!(
            "?smpp?PE_ID={}&TEMPLATE_ID={}",
            sms.entity_id, sms.dlt_template_id
        );
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("username", &self.settings.username)
                .append_pair("password", &self.settings.password)
                .append_pair("from", sms.sender_header)
                .append_pair("to", sms.to.expose())
                .append_pair("text", sms.text)
                .append_pair("charset", "UTF-8")
                .append_pair("coding", coding(sms.encoding))
                .append_pair("dlr-mask", &DLR_MASK.to_string())
                .append_pair("dlr-url", &self.dlr_url(sms.id))
                .append_pair("meta-data", &meta);
            if let Some(smsc) = &self.settings.smsc_id {
                q.append_pair("smsc", smsc);
            }
        }
        url
    }
}

/// Kannel's `coding`: 0 for the GSM alphabet, 2 for UCS-2 (Kannel converts
/// the UTF-8 text).
fn coding(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Gsm7 => "0",
        Encoding::Ucs2 => "2",
    }
}

impl SmsGateway for Kannel {
    async fn send(&self, sms: &OutgoingSms<'_>) -> Result<(), GatewayError> {
        let uri: hyper::Uri = self
            .request_url(sms)
            .as_str()
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| GatewayError::Refused(e.to_string()))?;
        let call = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|e| GatewayError::Unavailable(connection_error(&e)))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| GatewayError::Unavailable(e.to_string()))?
                .to_bytes();
            classify(status, &body)
        };
        tokio::time::timeout(self.settings.timeout, call)
            .await
            .map_err(|_| GatewayError::Unavailable("timed out".into()))?
    }
}

/// The error's kind without the URL (which holds the number and the text).
fn connection_error(e: &hyper_util::client::legacy::Error) -> String {
    if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// smsbox answers 202 `0: Accepted for delivery` or `3: Queued for later
/// delivery` (no SMSC bound yet: bearerbox keeps it); 4xx for a request it
/// will never take (bad parameters, authorisation); 5xx when it cannot take
/// it now.
fn classify(status: hyper::StatusCode, body: &[u8]) -> Result<(), GatewayError> {
    let text = String::from_utf8_lossy(body);
    let said = text.trim().chars().take(120).collect::<String>();
    if status.is_success() {
        Ok(())
    } else if status.is_client_error() && status != hyper::StatusCode::TOO_MANY_REQUESTS {
        Err(GatewayError::Refused(format!("{status}: {said}")))
    } else {
        Err(GatewayError::Unavailable(format!("{status}: {said}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::CustomerPhone;

    fn kannel() -> Kannel {
        Kannel::new(KannelSettings {
            sendsms_url: Url::parse("http://127.0.0.1:13013/cgi-bin/sendsms").unwrap(),
            username: "tw".into(),
            password: "pw".into(),
            smsc_id: None,
            callback_base_url: "http://127.0.0.1:8080/".into(),
            callback_token: "tok".into(),
            timeout: Duration::from_secs(5),
        })
    }

    #[test]
    fn the_request_carries_text_ids_and_the_report_url() {
        let phone = CustomerPhone::parse("9812345678").unwrap();
        let sms = OutgoingSms {
            id: 42,
            to: &phone,
            sender_header: "SHOPIN",
            text: "OTP 4821 & more",
            encoding: Encoding::Gsm7,
            entity_id: "1101",
            dlt_template_id: "1107",
        };
        let url = kannel().request_url(&sms);
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["to"], "+919812345678");
        assert_eq!(q["from"], "SHOPIN");
        assert_eq!(q["text"], "OTP 4821 & more");
        assert_eq!(q["coding"], "0");
        assert_eq!(q["dlr-mask"], "27");
        assert_eq!(q["meta-data"], "?smpp?PE_ID=1101&TEMPLATE_ID=1107");
        assert_eq!(
            q["dlr-url"],
            "http://127.0.0.1:8080/sms/kannel/dlr?token=tok&id=42&type=%d&reply=%A"
        );
    }

    #[test]
    fn answers_are_classified_for_retrying() {
        use hyper::StatusCode as S;
        assert!(classify(S::ACCEPTED, b"0: Accepted for delivery").is_ok());
        assert!(matches!(
            classify(S::FORBIDDEN, b"Authorization failed for sendsms"),
            Err(GatewayError::Refused(_))
        ));
        assert!(matches!(
            classify(S::SERVICE_UNAVAILABLE, b""),
            Err(GatewayError::Unavailable(_))
        ));
    }
}
