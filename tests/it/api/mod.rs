//! Admin API tests: handlers in-process (`actix_web::test`) against a real
//! PostgreSQL database per test, with a local receiver for webhooks.

mod bodies;
mod delivery_options;
mod endpoints;
mod health_and_links;
mod isolation;
mod log_and_retry;
mod paging;
mod partners;
mod query_params;
mod retry_rules;
mod urls;
mod versions;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use tokio_postgres::NoTls;

use trackwire::actors::dead_letters::DeadLetters;
use trackwire::actors::endpoint::{SsrfGuard, WebhookClient};
use trackwire::actors::recorder::Recorder;
use trackwire::actors::router::{Reload, Router, Worker};
use trackwire::actors::DeliveryDeps;
use trackwire::http::{api_v1, ApiSettings, AppState};
use trackwire::store;

/// The server every test database is created on.
const ADMIN_URL: &str = "postgres://trackwire:trackwire@127.0.0.1:5432/postgres";
/// The operator token of every test app.
pub const OPERATOR: &str = "operator-token-for-tests-0123456789abcdef";

/// What Kannel's callbacks carry in these tests (`sms.callback_token`).
pub const SMS_CALLBACK_TOKEN: &str = "smscallbacktoken0123456789";

/// The API over a fresh database, with a running router.
pub struct TestApp {
    /// What the handlers get.
    pub state: AppState,
    db_name: String,
    _arbiter: Arbiter,
}

/// An answer: status, `content-type`, and the body as JSON (`Null` if none).
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl TestApp {
    /// A new database with the schema, and the API over it.
    pub async fn spawn() -> TestApp {
        let db_name = format!("tw_api_{:016x}", rand::random::<u64>());
        let (admin, conn) = tokio_postgres::connect(ADMIN_URL, NoTls)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        actix_rt::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE {db_name}"))
            .await
            .unwrap();
        let url = format!("postgres://trackwire:trackwire@127.0.0.1:5432/{db_name}");
        let config = trackwire::config::load_from(
            None,
            [
                ("TRACKWIRE_DATABASE__URL", url.as_str()),
                ("TRACKWIRE_HTTP__OPERATOR_TOKEN", OPERATOR),
                ("TRACKWIRE_DELIVERY__ALLOW_INSECURE_HOSTS", "127.0.0.1"),
                ("TRACKWIRE_DELIVERY__RETRY_SCHEDULE", "200ms"),
                ("TRACKWIRE_DELIVERY__JITTER", "0"),
                ("TRACKWIRE_DELIVERY__ATTEMPT_TIMEOUT", "3s"),
                ("TRACKWIRE_KAFKA__BROKERS_FILE", ""),
                ("TRACKWIRE_SMS__CALLBACK_TOKEN", SMS_CALLBACK_TOKEN),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .unwrap();
        let pool = store::connect(&url, 4, Duration::from_secs(5)).unwrap();
        {
            let mut client = pool.get().await.unwrap();
            store::migrate::run(&mut client).await.unwrap();
        }
        // The router is real, so manual retries are delivered by a real
        // endpoint actor; Kafka is only needed for dead letters.
        let producer = trackwire::kafka::producer(&config.kafka).unwrap();
        let broker = trackwire::kafka::BrokerProbe::new(
            producer.clone(),
            config.kafka.dlq_topic.clone(),
            Duration::from_millis(800),
        );
        let dead_letters = DeadLetters::new(producer, config.kafka.dlq_topic.clone());
        let deps = DeliveryDeps::new(pool.clone(), &config, dead_letters);
        let arbiter = Arbiter::new();
        let recorder_pool = pool.clone();
        let worker = Worker {
            arbiter: arbiter.handle(),
            http: WebhookClient::new(
                SsrfGuard::new(&config.delivery.allow_insecure_hosts),
                Duration::from_secs(2),
                Duration::from_secs(3),
                1024,
            ),
            recorder: Recorder::start_in_arbiter(&arbiter.handle(), move |_| {
                Recorder::new(recorder_pool)
            }),
        };
        let router = Router::new(deps, vec![worker], Duration::from_secs(3600)).start();
        TestApp {
            state: AppState {
                pool,
                router,
                broker,
                api: Arc::new(ApiSettings::from_config(&config)),
            },
            db_name,
            _arbiter: arbiter,
        }
    }

    /// Sends a request; `auth` is the bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = test::TestRequest::default().method(method).uri(path);
        if let Some(token) = auth {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        if let Some(body) = body {
            req = req.set_json(body);
        }
        self.send(req).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: test::TestRequest) -> Answer {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(self.state.clone()))
                .configure(api_v1),
        )
        .await;
        let resp = test::call_service(&app, req.to_request()).await;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = test::read_body(resp).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// `GET` as `auth`.
    pub async fn get(&self, path: &str, auth: &str) -> Answer {
        self.call(Method::GET, path, Some(auth), None).await
    }

    /// `POST` as `auth`.
    pub async fn post(&self, path: &str, auth: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(auth), Some(body)).await
    }

    /// Creates a partner and returns an API key for it.
    pub async fn partner(&self, id: &str) -> String {
        let created = self
            .post(
                "/api/v1/partners",
                OPERATOR,
                json!({ "id": id, "name": format!("Partner {id}") }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let key = self
            .call(
                Method::POST,
                &format!("/api/v1/partners/{id}/keys"),
                Some(OPERATOR),
                None,
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
        key.body["key"].as_str().unwrap().to_owned()
    }

    /// Creates an endpoint from `body` for the key's partner and returns
    /// it as the API answered (the test fails unless the answer is 201).
    pub async fn create_endpoint(&self, key: &str, body: Value) -> Value {
        let created = self.post("/api/v1/endpoints", key, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body
    }

    /// Registers an endpoint for the key's partner; returns its id and secret.
    pub async fn endpoint(&self, key: &str, url: &str, types: &[&str]) -> (String, String) {
        let created = self
            .create_endpoint(key, json!({ "url": url, "event_types": types }))
            .await;
        (
            created["id"].as_str().unwrap().to_owned(),
            created["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Stores a real (non-test) event of `partner`; returns its id. Its
    /// deliveries are created for the partner's matching endpoints.
    pub async fn event(&self, partner: &str, event_type: &str) -> String {
        let mut data =
            trackwire::schema::synthetic(event_type.parse().unwrap(), partner, chrono::Utc::now());
        data.is_test = false;
        let mut client = self.state.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let event = store::ingest::NewEvent {
            data: &data,
            source: None,
            dispatch_outcome: None,
        };
        store::ingest::store_events(&tx, &[event], &crate::ingest_store::pages())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        data.event_id
    }

    /// The connection string of the test database.
    pub fn db_url(&self) -> String {
        format!(
            "postgres://trackwire:trackwire@127.0.0.1:5432/{}",
            self.db_name
        )
    }

    /// Runs SQL against the test database.
    pub async fn sql(&self, statement: &str) {
        let client = self.state.pool.get().await.unwrap();
        client.batch_execute(statement).await.unwrap();
    }

    /// Makes the router start actors for the endpoints now in the store.
    pub async fn reload_router(&self) {
        self.state.router.send(Reload).await.unwrap();
    }

    /// Drops the test database.
    pub async fn cleanup(self) {
        let TestApp { state, db_name, .. } = self;
        drop(state);
        let (admin, conn) = tokio_postgres::connect(ADMIN_URL, NoTls).await.unwrap();
        actix_rt::spawn(conn);
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            .await;
    }
}

/// Headers and body of one request a [`Receiver`] got.
pub type Request = (Vec<(String, String)>, Vec<u8>);

/// A partner's endpoint on 127.0.0.1: answers every request with the status
/// set (200 at first) and keeps what it received.
pub struct Receiver {
    /// Where it listens.
    pub url: String,
    status: Arc<AtomicU16>,
    /// Headers and bodies received.
    pub received: Arc<Mutex<Vec<Request>>>,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Clone)]
struct ReceiverState {
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Request>>>,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    state
        .received
        .lock()
        .unwrap()
        .push((headers, body.to_vec()));
    let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
    HttpResponse::build(status)
        .insert_header(("x-receiver", "test"))
        .body(format!("answered {}", status.as_u16()))
}

impl Receiver {
    /// Starts one.
    pub fn start() -> Receiver {
        let state = ReceiverState {
            status: Arc::new(AtomicU16::new(200)),
            received: Arc::default(),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            status: state.status,
            received: state.received,
            handle,
        }
    }

    /// Sets the status of the next answers.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Stops it.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Asserts a problem document with `status` and type id.
pub fn assert_problem(answer: &Answer, status: u16, id: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(
        answer.body["type"],
        format!("urn:trackwire:problem:{id}"),
        "{}",
        answer.body
    );
    assert_eq!(answer.body["status"], status);
}
