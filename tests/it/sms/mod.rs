//! The built-in SMS through a real Kannel (bearerbox + smsbox started by
//! `scripts/kannel`) to an SMPP SMSC simulator: texts and DLT TLVs on the
//! wire, delivery reports, the gateway down and back, STOP, isolation; and
//! through the real service process (`live`): kill -9 mid-flow (`kill`),
//! the OTP nowhere but in its SMS (`otp`).

mod api;
mod edges;
mod gateway;
mod kill;
mod live;
mod measure;
mod otp;
mod smsc;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use trackwire::schema::{EventData, EventType};
use trackwire::sms::gateway::kannel::{Kannel, KannelSettings};
use trackwire::sms::phone::PhoneOnRecord;
use trackwire::sms::sender::{self, SenderSettings};
use trackwire::sms::template::dlt_text_of;
use trackwire::sms::Template;

use crate::api::{TestApp, SMS_CALLBACK_TOKEN};
use smsc::Smsc;

/// The customer of these tests, as the OMS stored the number.
pub const PHONE: &str = "098123 45678";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Kannel started in its own directory; stopped when dropped.
pub struct KannelBoxes {
    dir: PathBuf,
    env: Vec<(String, String)>,
    pub sendsms_port: u16,
}

impl KannelBoxes {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kannel")
    }

    fn new(smsc_port: u16, trackwire_port: u16) -> KannelBoxes {
        let dir = std::env::temp_dir().join(format!("tw_kannel_{:016x}", rand::random::<u64>()));
        let sendsms_port = free_port();
        let env = vec![
            ("KANNEL_ADMIN_PORT".into(), free_port().to_string()),
            ("KANNEL_BOX_PORT".into(), free_port().to_string()),
            ("KANNEL_SENDSMS_PORT".into(), sendsms_port.to_string()),
            ("KANNEL_SMSC_PORT".into(), smsc_port.to_string()),
            ("KANNEL_PASSWORD".into(), "kannelpw".into()),
            (
                "KANNEL_MO_URL".into(),
                format!(
                    "http://127.0.0.1:{trackwire_port}/sms/kannel/mo?token={SMS_CALLBACK_TOKEN}"
                ),
            ),
        ];
        KannelBoxes {
            dir,
            env,
            sendsms_port,
        }
    }

    /// Starts both boxes and waits for the sendsms port.
    pub fn start(&self) {
        let status = Command::new(Self::script())
            .arg("start")
            .arg(&self.dir)
            .envs(self.env.iter().cloned())
            .status()
            .expect("scripts/kannel runs");
        assert!(status.success(), "kannel did not start: {}", self.logs());
    }

    /// Stops both boxes.
    pub fn stop(&self) {
        let _ = Command::new(Self::script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }

    /// What both boxes logged.
    pub fn logs(&self) -> String {
        ["bearerbox.log", "smsbox.log", "bearerbox.out", "smsbox.out"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for KannelBoxes {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// trackwire's API and callbacks on a real port, Kannel, the SMSC, and a
/// sender the test drives round by round.
pub struct Rig {
    pub app: TestApp,
    pub smsc: Smsc,
    pub kannel: KannelBoxes,
    pub gateway: Arc<Kannel>,
    pub settings: SenderSettings,
    /// The port of trackwire's HTTP server (Kannel's callbacks).
    pub http_port: u16,
}

impl Rig {
    pub async fn start() -> Rig {
        let app = TestApp::spawn().await;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let http_port = listener.local_addr().unwrap().port();
        let server = trackwire::http::server(listener, app.state.clone()).unwrap();
        actix_rt::spawn(server);
        let smsc = Smsc::start().await;
        let kannel = KannelBoxes::new(smsc.port, http_port);
        kannel.start();
        let gateway = Arc::new(Kannel::new(KannelSettings {
            sendsms_url: url::Url::parse(&format!(
                "http://127.0.0.1:{}/cgi-bin/sendsms",
                kannel.sendsms_port
            ))
            .unwrap(),
            username: "trackwire".into(),
            password: "kannelpw".into(),
            smsc_id: Some("sim".into()),
            callback_base_url: format!("http://127.0.0.1:{http_port}"),
            callback_token: SMS_CALLBACK_TOKEN.into(),
            timeout: Duration::from_secs(5),
        }));
        let settings = SenderSettings {
            retry_schedule: vec![Duration::from_millis(200); 50],
            per_partner_per_round: 50,
            round_interval: Duration::from_millis(50),
            lease: Duration::from_secs(30),
            concurrency: 4,
        };
        let rig = Rig {
            app,
            smsc,
            kannel,
            gateway,
            settings,
            http_port,
        };
        assert!(
            crate::harness::eventually(Duration::from_secs(15), || rig.smsc.bound()).await,
            "bearerbox never bound to the SMSC: {}",
            rig.kannel.logs()
        );
        rig
    }

    /// A partner with built-in tracking and a template for every type,
    /// each with its own ids and `header`.
    pub async fn partner(&self, id: &str, header: &str, entity: &str) {
        self.app.partner(id).await;
        crate::tracking::set_tracking(&self.app, id, true).await;
        let client = self.app.state.pool.get().await.unwrap();
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
            trackwire::store::sms::save_template(&**client, id, &template)
                .await
                .unwrap();
        }
    }

    /// Runs sender rounds until `done` holds of what the SMSC received, or
    /// `limit` passes; answers whether it held.
    pub async fn drain_until(
        &self,
        limit: Duration,
        done: impl Fn(&[smsc::Submitted]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if done(&self.smsc.received()) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            self.round().await;
            tokio::time::sleep(self.settings.round_interval).await;
        }
    }

    /// One sender round.
    pub async fn round(&self) -> usize {
        sender::round(
            &self.app.state.pool,
            &*self.gateway,
            &self.app.state.api.tracking_pages,
            &self.settings,
        )
        .await
        .unwrap()
    }

    /// The outbox rows of a partner: (event type, state, phone, attempts).
    pub async fn outbox(&self, partner: &str) -> Vec<(String, String, Option<String>, i32)> {
        let client = self.app.state.pool.get().await.unwrap();
        client
            .query(
                "SELECT event_type, state, phone, attempts FROM sms_outbox
                 WHERE partner_id = $1 ORDER BY id",
                &[&partner],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }
}

/// Short templates (one SMS each), one per type, every variable used
/// somewhere; delivered is in Hindi, so UCS-2 goes over the wire too.
pub fn test_text(ty: EventType) -> &'static str {
    match ty {
        EventType::OrderConfirmed => {
            "{merchant}: order {order_ref} confirmed. Track: {tracking_link}"
        }
        EventType::OutForDelivery => "{rider} brings {order_ref} at {eta}. OTP {otp}",
        EventType::Delivered => "{merchant}: आपका ऑर्डर {order_ref} पहुँच गया",
        EventType::DeliveryFailed => "{order_ref} not delivered: {failure_reason}",
        EventType::ReturnInitiated => "Return of {order_ref} requested",
        EventType::ReturnPickedUp => "Return of {order_ref} picked up",
    }
}

/// A real event of `order` for `partner` with the test customer's phone.
pub fn sms_event(partner: &str, order: &str, ty: EventType, n: i64) -> EventData {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut data = crate::tracking::event(partner, order, ty, n, at);
    data.customer_phone = PhoneOnRecord::from_column(Some(PHONE));
    data
}
