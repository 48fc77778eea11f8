//! Built-in tracking: the toggle over the API and the portal, what ingest
//! keeps for tracked orders, the public page's content rules and headers,
//! tenant isolation of the dashboard, search and tokens, and the dashboard
//! query at 100,000 orders. The browser run is in `portal::tracking_browser`.

mod api;
mod dashboard;
mod pages;
mod pipeline;
mod scale;

use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, App};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use trackwire::http::{api_v1, portal, tracking_page};
use trackwire::schema::{synthetic, EventData, EventType, Otp};
use trackwire::store::{self, ingest::NewEvent, ingest::StoredEvent};

use crate::api::{TestApp, OPERATOR};

/// The six event types in the order an order with a failed attempt and a
/// return goes through them.
pub const JOURNEY: [EventType; 6] = [
    EventType::OrderConfirmed,
    EventType::OutForDelivery,
    EventType::DeliveryFailed,
    EventType::Delivered,
    EventType::ReturnInitiated,
    EventType::ReturnPickedUp,
];

/// A real (non-test) event of `order`, the `n`th of its order, with every
/// field its type allows filled in (OTP and phone included).
pub fn event(partner: &str, order: &str, t: EventType, n: i64, at: DateTime<Utc>) -> EventData {
    let mut data = synthetic(t, partner, at + Duration::seconds(n));
    data.is_test = false;
    data.order_id = order.to_owned();
    data.event_id = format!("evt_{partner}_{order}_{n}_{}", t.as_str());
    data.merchant_order_ref = Some(format!("REF-{order}"));
    data.customer_id = Some(format!("CUST-{order}"));
    if data.delivery_otp.is_some() {
        // Distinctive, so that finding it anywhere on a page means a leak.
        data.delivery_otp = Some(Otp::new(OTP));
    }
    data
}

/// The OTP of every out_for_delivery event of these tests.
pub const OTP: &str = "739184";

/// Stores `events` as ingest does, in one transaction.
pub async fn ingest(app: &TestApp, events: &[EventData]) -> Vec<StoredEvent> {
    let new: Vec<NewEvent<'_>> = events
        .iter()
        .map(|data| NewEvent {
            data,
            source: None,
            dispatch_outcome: None,
        })
        .collect();
    let mut client = app.state.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let stored = store::ingest::store_events(&tx, &new, &app.state.api.tracking_pages)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    stored
}

/// Turns built-in tracking on or off for `partner` as an operator.
pub async fn set_tracking(app: &TestApp, partner: &str, on: bool) {
    let answer = app
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{partner}/tracking"),
            Some(OPERATOR),
            Some(json!({ "enabled": on })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["enabled"], on);
}

/// The page token of an order, straight from the store.
pub async fn token_of(app: &TestApp, partner: &str, order: &str) -> Option<String> {
    let client = app.state.pool.get().await.unwrap();
    client
        .query_opt(
            "SELECT token FROM tracked_orders WHERE partner_id = $1 AND order_id = $2",
            &[&partner, &order],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// An answer with its headers.
pub struct Reply {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `req` to the whole HTTP surface (API, portal, tracking pages).
pub async fn send(app: &TestApp, req: test::TestRequest) -> Reply {
    let service = test::init_service(
        App::new()
            .app_data(web::Data::new(app.state.clone()))
            .configure(api_v1)
            .configure(portal::configure)
            .configure(tracking_page::configure),
    )
    .await;
    let resp = test::call_service(&service, req.to_request()).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = String::from_utf8_lossy(&test::read_body(resp).await).into_owned();
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET /track/{token}`.
pub async fn page(app: &TestApp, token: &str) -> Reply {
    send(
        app,
        test::TestRequest::get().uri(&format!("/track/{token}")),
    )
    .await
}
