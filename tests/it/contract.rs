//! The event contract end to end: rider and OTP from a real gRPC dispatch
//! server at trigger time (answering, slow, failing, down), schema v1 and v2
//! side by side, deprecation headers, and nothing sensitive in the logs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response, Status};
use trackwire::dev::feed::{advance, new_order, OrderRow};
use trackwire::dispatch::proto::dispatch_server::{self, DispatchServer};
use trackwire::dispatch::proto::{Assignment, GetAssignmentRequest};
use trackwire::schema::{json_schema, mask_phone, EventType, SchemaVersion};
use trackwire::store::endpoints::{self, NewEndpoint};
use trackwire::webhook::{self, SigningSecret};

use crate::harness::{eventually, eventually_count, TestEnv};
use crate::receiver::{Behavior, Received, Receiver};

const WAIT: Duration = Duration::from_secs(30);
/// What the fake dispatch service hands out; none of it may reach a log.
const OTP: &str = "739164";
const PHONE: &str = "+91 99887 76655";
const PHONE_DIGITS: &str = "9988776655";
const ETA_START_MS: i64 = 1_900_000_000_000;
const ETA_END_MS: i64 = 1_900_001_800_000;

/// How the fake dispatch service behaves.
#[derive(Clone, Copy)]
enum Mode {
    /// Answers at once.
    Answer,
    /// Answers after this long.
    Slow(Duration),
    /// The first call hangs past any deadline; later ones answer.
    HangFirst,
    /// Always UNAVAILABLE.
    Fail,
}

struct FakeDispatch {
    mode: Mode,
    calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl dispatch_server::Dispatch for FakeDispatch {
    async fn get_assignment(
        &self,
        request: Request<GetAssignmentRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.mode {
            Mode::Answer => {}
            Mode::Slow(wait) => tokio::time::sleep(wait).await,
            Mode::HangFirst if call == 0 => tokio::time::sleep(Duration::from_secs(60)).await,
            Mode::HangFirst => {}
            // The message echoes the OTP, as a careless server might: it must
            // not reach trackwire's log either.
            Mode::Fail => return Err(Status::unavailable(format!("busy, otp {OTP}"))),
        }
        Ok(Response::new(Assignment {
            order_id: request.into_inner().order_id,
            rider_name: Some("Asha Rao".into()),
            rider_phone: Some(PHONE.into()),
            delivery_otp: Some(OTP.into()),
            eta_start_ms: Some(ETA_START_MS),
            eta_end_ms: Some(ETA_END_MS),
        }))
    }
}

/// Starts a dispatch server on 127.0.0.1; returns its URL and call counter.
async fn dispatch_server(mode: Mode) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind dispatch");
    let addr = listener.local_addr().expect("addr");
    let incoming = TcpIncoming::from_listener(listener, true, None).expect("incoming");
    let calls = Arc::new(AtomicUsize::new(0));
    let service = DispatchServer::new(FakeDispatch {
        mode,
        calls: calls.clone(),
    });
    tokio::spawn(
        Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    (format!("http://{addr}"), calls)
}

/// A URL where nothing listens.
async fn nowhere() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// Service settings for these tests: the OMS row carries no rider, phone,
/// OTP or window (they live in the dispatch system), and tracking URLs on.
fn settings<'a>(
    dispatch_url: &'a str,
    deadline: &'a str,
    budget: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("TRACKWIRE_DISPATCH__URL", dispatch_url),
        ("TRACKWIRE_DISPATCH__DEADLINE", deadline),
        ("TRACKWIRE_DISPATCH__BUDGET", budget),
        ("TRACKWIRE_CDC__COLUMNS__RIDER_NAME", ""),
        ("TRACKWIRE_CDC__COLUMNS__RIDER_PHONE", ""),
        ("TRACKWIRE_CDC__COLUMNS__DELIVERY_OTP", ""),
        ("TRACKWIRE_CDC__COLUMNS__ETA_START", ""),
        ("TRACKWIRE_CDC__COLUMNS__ETA_END", ""),
        (
            "TRACKWIRE_SCHEMA__TRACKING_URL_TEMPLATE",
            "https://track.example.com/{order_id}",
        ),
    ]
}

/// Registers an endpoint pinned to `version`.
async fn endpoint(
    env: &TestEnv,
    partner: &str,
    url: &str,
    version: SchemaVersion,
) -> SigningSecret {
    let mut db = env.db().await;
    let tx = db.transaction().await.expect("tx");
    let (_, secret) = endpoints::insert(
        &tx,
        &NewEndpoint {
            partner_id: partner,
            url,
            description: "",
            event_types: &EventType::ALL,
            schema_version: version,
        },
    )
    .await
    .expect("endpoint");
    tx.commit().await.expect("commit");
    secret
}

/// Publishes an order's creation (CONFIRMED) and its move out for delivery.
async fn confirm_and_dispatch(env: &TestEnv, id: &str) {
    let row = new_order(id, "acme");
    env.change("c", None, &row).await;
    let next: OrderRow = advance(&row, "OUT_FOR_DELIVERY", chrono::Utc::now());
    env.change("u", Some(&row), &next).await;
}

fn verify(secret: &SigningSecret, r: &Received) {
    let ts: i64 = r.header("webhook-timestamp").parse().expect("timestamp");
    webhook::verify(
        secret,
        r.header("webhook-id"),
        ts,
        &r.body,
        r.header("webhook-signature"),
        chrono::Utc::now().timestamp(),
        300,
    )
    .expect("signature verifies over the body as received");
}

/// Every payload validates against its version's schema, and carries the
/// version in its header.
fn assert_valid(received: &[Received], version: SchemaVersion) {
    let schema: serde_json::Value = serde_json::from_str(json_schema(version)).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    for r in received {
        let body = r.json();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{version} payload invalid: {errors:?}\n{body}"
        );
        assert_eq!(r.header("webhook-schema-version"), version.as_str());
    }
}

/// The acknowledged webhooks by event type.
fn by_type(rx: &Receiver) -> HashMap<String, Received> {
    rx.acked()
        .into_iter()
        .map(|r| (r.header("webhook-event-type").to_owned(), r))
        .collect()
}

fn assert_no_secrets_in(logs: &str) {
    assert!(!logs.is_empty(), "the service logged nothing");
    for secret in [OTP, PHONE, PHONE_DIGITS, "99887"] {
        assert!(!logs.contains(secret), "{secret:?} in the logs:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_endpoints_get_the_enriched_event_in_their_own_shapes() {
    let env = TestEnv::new(1).await;
    let (url, calls) = dispatch_server(Mode::Answer).await;
    let v1 = Receiver::start(Behavior::Status(200)).await;
    let v2 = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let v1_secret = endpoint(&env, "acme", &v1.url(), SchemaVersion::V1).await;
    let v2_secret = endpoint(&env, "acme", &v2.url(), SchemaVersion::V2).await;
    let svc = env.service(&settings(&url, "2s", "5s"));

    confirm_and_dispatch(&env, "A-1").await;

    assert!(eventually(WAIT, || v1.acked().len() == 2 && v2.acked().len() == 2).await);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one call, for out_for_delivery only"
    );
    assert_valid(&v1.acked(), SchemaVersion::V1);
    assert_valid(&v2.acked(), SchemaVersion::V2);
    for r in v1.acked() {
        verify(&v1_secret, &r);
        assert_eq!(r.header("deprecation"), "@1796083200");
        assert_eq!(r.header("sunset"), "Wed, 01 Dec 2027 00:00:00 GMT");
    }
    for r in v2.acked() {
        verify(&v2_secret, &r);
        assert!(r.headers.get("deprecation").is_none());
        assert!(r.headers.get("sunset").is_none());
    }

    let (v1_events, v2_events) = (by_type(&v1), by_type(&v2));
    let old = v1_events["out_for_delivery"].json();
    let new = v2_events["out_for_delivery"].json();
    assert_eq!(old["event_id"], new["event_id"], "the same event");
    assert_eq!(old["rider_name"], "Asha Rao");
    assert_eq!(old["rider_phone_masked"], mask_phone(PHONE));
    assert_eq!(old["delivery_otp"], OTP);
    assert_eq!(
        old["estimated_delivery_window"]["start"],
        "2030-03-17T17:46:40.000Z"
    );
    assert_eq!(new["rider"]["name"], "Asha Rao");
    assert_eq!(new["rider"]["phone_masked"], "+91 ***** ***55");
    assert_eq!(new["delivery"]["otp"], OTP);
    assert_eq!(
        new["delivery"]["estimated_window"],
        old["estimated_delivery_window"]
    );
    assert_eq!(new["order"]["id"], "A-1");
    assert_eq!(new["tracking_url"], "https://track.example.com/A-1");
    assert_eq!(new["sequence"], 2);
    assert_eq!(v2_events["order_confirmed"].json()["sequence"], 1);

    let db = env.db().await;
    let enriched = eventually_count(
        &db,
        "SELECT count(*) FROM events WHERE dispatch_outcome = 'enriched'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(enriched, 1);
    // At rest: the masked phone only; the OTP in the event's data (README).
    let stored: String = db
        .query_one(
            "SELECT data::text FROM events WHERE event_type = 'out_for_delivery'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        !stored.contains(PHONE_DIGITS) && !stored.contains("99887"),
        "{stored}"
    );
    assert_no_secrets_in(&svc.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_dispatch_within_the_budget_still_enriches() {
    let env = TestEnv::new(1).await;
    let (slow_url, slow_calls) = dispatch_server(Mode::Slow(Duration::from_millis(700))).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    endpoint(&env, "acme", &rx.url(), SchemaVersion::V2).await;
    let svc = env.service(&settings(&slow_url, "2s", "5s"));

    confirm_and_dispatch(&env, "S-1").await;

    assert!(eventually(WAIT, || rx.acked().len() == 2).await);
    assert_eq!(slow_calls.load(Ordering::SeqCst), 1);
    let ofd = by_type(&rx)["out_for_delivery"].json();
    assert_eq!(ofd["delivery"]["otp"], OTP);
    assert_valid(&rx.acked(), SchemaVersion::V2);
    assert_no_secrets_in(&svc.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_deadline_is_retried_within_the_budget() {
    let env = TestEnv::new(1).await;
    let (url, calls) = dispatch_server(Mode::HangFirst).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    endpoint(&env, "acme", &rx.url(), SchemaVersion::V2).await;
    let _svc = env.service(&settings(&url, "300ms", "5s"));

    confirm_and_dispatch(&env, "H-1").await;

    assert!(eventually(WAIT, || rx.acked().len() == 2).await);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the hung call, then a retry"
    );
    let ofd = by_type(&rx)["out_for_delivery"].json();
    assert_eq!(ofd["rider"]["name"], "Asha Rao");
}

/// A failing or unreachable dispatch service: the event goes out with those
/// fields null, once the budget is spent, and the miss is recorded and logged
/// without the OTP.
async fn a_miss(dispatch_url: String, calls: Option<Arc<AtomicUsize>>) {
    let env = TestEnv::new(1).await;
    let v1 = Receiver::start(Behavior::Status(200)).await;
    let v2 = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    endpoint(&env, "acme", &v1.url(), SchemaVersion::V1).await;
    endpoint(&env, "acme", &v2.url(), SchemaVersion::V2).await;
    let svc = env.service(&settings(&dispatch_url, "200ms", "1s"));
    let started = std::time::Instant::now();

    confirm_and_dispatch(&env, "F-1").await;

    assert!(eventually(WAIT, || v1.acked().len() == 2 && v2.acked().len() == 2).await);
    // Within the budget plus delivery time, far inside the 60 s target.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_valid(&v1.acked(), SchemaVersion::V1);
    assert_valid(&v2.acked(), SchemaVersion::V2);
    let old = by_type(&v1)["out_for_delivery"].json();
    for key in [
        "rider_name",
        "rider_phone_masked",
        "delivery_otp",
        "estimated_delivery_window",
    ] {
        assert!(old[key].is_null(), "{key}: {old}");
    }
    let new = by_type(&v2)["out_for_delivery"].json();
    assert!(
        new["rider"]["name"].is_null() && new["delivery"]["otp"].is_null(),
        "{new}"
    );
    if let Some(calls) = calls {
        assert!(
            calls.load(Ordering::SeqCst) >= 2,
            "retried within the budget"
        );
    }
    let db = env.db().await;
    let missed = eventually_count(
        &db,
        "SELECT count(*) FROM events WHERE dispatch_outcome = 'missed'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(missed, 1);
    let logs = svc.logs();
    assert!(
        logs.contains("dispatch service unavailable within the budget"),
        "{logs}"
    );
    assert_no_secrets_in(&logs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_dispatch_sends_nulls_and_counts_the_miss() {
    let (url, calls) = dispatch_server(Mode::Fail).await;
    a_miss(url, Some(calls)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_service_that_is_down_sends_nulls_and_counts_the_miss() {
    a_miss(nowhere().await, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_consumed_again_keeps_its_sequence_and_does_not_advance_the_order() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    endpoint(&env, "acme", &rx.url(), SchemaVersion::V2).await;
    let _svc = env.service(&[]);

    // The same CDC record twice (a redelivery), then the order's next change.
    let row = new_order("R-1", "acme");
    let record = trackwire::dev::feed::change_event("c", None, Some(&row), 77, false);
    let key = trackwire::dev::feed::key(&row.id);
    env.publish_raw(&key, Some(&record)).await;
    env.publish_raw(&key, Some(&record)).await;
    let next = advance(&row, "OUT_FOR_DELIVERY", chrono::Utc::now());
    env.change("u", Some(&row), &next).await;

    assert!(eventually(WAIT, || rx.acked_ids().len() == 2).await);
    let sequences: HashMap<String, i64> = rx
        .acked()
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["event_type"].as_str().unwrap().to_owned(),
                body["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sequences["order_confirmed"], 1);
    assert_eq!(sequences["out_for_delivery"], 2);
    let db = env.db().await;
    let last: i64 = db
        .query_one(
            "SELECT last_sequence FROM order_sequences WHERE order_id = 'R-1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(last, 2);
}
