//! The SMS as they run in production: the real `trackwire run` process
//! (its own outbox sender, Kafka consumer, HTTP callbacks and metrics)
//! reading OMS changes from a real broker and sending through a running
//! Kannel to the SMSC simulator.

use std::time::{Duration, Instant};

use trackwire::dev::feed::{new_order, OrderRow};
use trackwire::schema::EventType;
use trackwire::sms::template::dlt_text_of;
use trackwire::sms::Template;

use super::smsc::Smsc;
use super::{free_port, test_text, KannelBoxes, PHONE};
use crate::api::SMS_CALLBACK_TOKEN;
use crate::harness::{Service, TestEnv};

/// The operator token of these services.
pub const OPERATOR: &str = "operator-token-for-the-live-sms-tests-012345";

/// A database and topics, the SMSC, Kannel bound to it, and the ports the
/// service takes (fixed, so that Kannel's callbacks find each restart).
pub struct LiveSms {
    pub env: TestEnv,
    pub smsc: Smsc,
    pub kannel: KannelBoxes,
    pub http_port: u16,
    pub metrics_port: u16,
}

impl LiveSms {
    pub async fn start() -> LiveSms {
        let env = TestEnv::new(1).await;
        let smsc = Smsc::start().await;
        let http_port = free_port();
        let kannel = KannelBoxes::new(smsc.port, http_port);
        kannel.start();
        let live = LiveSms {
            env,
            smsc,
            kannel,
            http_port,
            metrics_port: free_port(),
        };
        assert!(
            crate::harness::eventually(Duration::from_secs(15), || live.smsc.bound()).await,
            "bearerbox never bound to the SMSC: {}",
            live.kannel.logs()
        );
        live
    }

    /// `http://127.0.0.1:<port>` of the service.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Starts `trackwire run` with its SMS sender on, plus `extra`, and
    /// waits until it is ready.
    pub async fn service(&self, extra: &[(&str, &str)]) -> Service {
        let listen = format!("127.0.0.1:{}", self.http_port);
        let metrics = format!("127.0.0.1:{}", self.metrics_port);
        let sendsms = format!(
            "http://127.0.0.1:{}/cgi-bin/sendsms",
            self.kannel.sendsms_port
        );
        let base = self.base();
        let mut settings = vec![
            ("TRACKWIRE_HTTP__LISTEN", listen.as_str()),
            ("TRACKWIRE_METRICS__LISTEN", metrics.as_str()),
            ("TRACKWIRE_HTTP__OPERATOR_TOKEN", OPERATOR),
            ("TRACKWIRE_HTTP__TRACKING_PAGE_BASE_URL", base.as_str()),
            ("TRACKWIRE_SMS__ENABLED", "true"),
            ("TRACKWIRE_SMS__KANNEL_SENDSMS_URL", sendsms.as_str()),
            ("TRACKWIRE_SMS__KANNEL_PASSWORD", "kannelpw"),
            ("TRACKWIRE_SMS__KANNEL_SMSC_ID", "sim"),
            ("TRACKWIRE_SMS__CALLBACK_BASE_URL", base.as_str()),
            ("TRACKWIRE_SMS__CALLBACK_TOKEN", SMS_CALLBACK_TOKEN),
            (
                "TRACKWIRE_SMS__RETRY_SCHEDULE",
                "200ms,200ms,200ms,200ms,200ms",
            ),
            // The lease is three send timeouts: a killed sender's SMS are
            // taken over 3 s after it claimed them.
            ("TRACKWIRE_SMS__SEND_TIMEOUT", "1s"),
        ];
        settings.extend_from_slice(extra);
        let mut service = self.env.service(&settings);
        let ready = format!("{base}/health/ready");
        let deadline = Instant::now() + Duration::from_secs(30);
        while crate::portal::steps::request("GET", &ready, None)
            .await
            .map(|(s, _)| s)
            != Some(200)
        {
            service.assert_running();
            assert!(Instant::now() < deadline, "not ready:\n{}", service.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        service
    }

    /// A partner with built-in tracking on and a template for every type
    /// (`test_text`), each with its own DLT template id `{entity}0{n}`.
    pub async fn partner(&self, id: &str, header: &str, entity: &str) {
        self.env.partner(id).await;
        let client = self.env.db().await;
        trackwire::store::tracking::set_enabled(&client, id, true)
            .await
            .unwrap();
        for (n, ty) in EventType::ALL.into_iter().enumerate() {
            let text = test_text(ty);
            let template = Template {
                event_type: ty,
                enabled: true,
                text: text.into(),
                dlt_text: dlt_text_of(text).unwrap(),
                dlt_template_id: format!("{entity}0{n}"),
                sender_header: header.into(),
                entity_id: entity.into(),
            };
            template.validate().unwrap();
            trackwire::store::sms::save_template(&client, id, &template)
                .await
                .unwrap();
        }
    }

    /// The outbox rows of a partner: (order, state).
    pub async fn outbox(&self, partner: &str) -> Vec<(String, String)> {
        self.env
            .db()
            .await
            .query(
                "SELECT order_id, state FROM sms_outbox WHERE partner_id = $1 ORDER BY id",
                &[&partner],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

/// A new OMS order of `partner` with the test customer's number.
pub fn order_with_phone(id: &str, partner: &str) -> OrderRow {
    OrderRow {
        customer_phone: Some(PHONE.to_owned()),
        ..new_order(id, partner)
    }
}
