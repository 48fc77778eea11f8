//! The link end to end: the real binary consumes CDC records, and a v2
//! endpoint of a partner with built-in tracking receives `tracking_url`
//! pointing at the order's page under `http.tracking_page_base_url`, the
//! same link on every event of the order; that page answers on trackwire's
//! listener. A partner without the toggle gets `null`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use trackwire::dev::feed::{advance, new_order};
use trackwire::schema::EventType;

use crate::harness::{eventually, TestEnv};
use crate::portal::webdriver::free_port;
use crate::receiver::{Behavior, Receiver};

/// `GET url`: status and body.
async fn fetch(url: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let resp = client.get(url.parse().unwrap()).await.expect("GET");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_payloads_of_tracked_partners_link_the_orders_page() {
    let env = TestEnv::new(1).await;
    let receiver = Receiver::start(Behavior::Status(200)).await;
    env.partner("shop").await;
    env.partner("plain").await;
    for partner in ["shop", "plain"] {
        env.endpoint(partner, &receiver.url(), &EventType::ALL)
            .await;
    }
    let db = env.db().await;
    db.batch_execute(
        "UPDATE endpoints SET schema_version = 'v2';
         UPDATE partners SET built_in_tracking = true WHERE id = 'shop';",
    )
    .await
    .unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // The base URL customers see is configuration; here it is the listener.
    let base = format!("http://{listen}/");
    let mut service = env.service(&[
        ("TRACKWIRE_HTTP__LISTEN", &listen),
        ("TRACKWIRE_HTTP__TRACKING_PAGE_BASE_URL", &base),
    ]);
    let order = new_order("S-1", "shop");
    env.change("c", None, &order).await;
    let next = advance(&order, "OUT_FOR_DELIVERY", chrono::Utc::now());
    env.change("u", Some(&order), &next).await;
    env.change("c", None, &new_order("P-1", "plain")).await;
    let arrived = eventually(Duration::from_secs(30), || receiver.acked().len() >= 3).await;
    service.assert_running();
    assert!(arrived, "{}", service.logs());

    let mut links = Vec::new();
    for r in receiver.acked() {
        let body = r.json();
        match body["order"]["id"].as_str() {
            Some("S-1") => links.push(body["tracking_url"].as_str().unwrap().to_owned()),
            Some("P-1") => assert!(body["tracking_url"].is_null(), "{body}"),
            other => panic!("unexpected order {other:?}"),
        }
    }
    assert_eq!(links.len(), 2);
    assert_eq!(links[0], links[1], "one page per order");
    assert!(
        links[0].starts_with(&format!("http://{listen}/track/")),
        "{}",
        links[0]
    );
    assert!(!links[0].contains("S-1"), "the link is not the order id");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, html) = loop {
        let (status, html) = fetch(&links[0]).await;
        if html.contains("Out for delivery") || Instant::now() > deadline {
            break (status, html);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Order M-S-1") && html.contains("Your rider is"),
        "{html}"
    );
}
