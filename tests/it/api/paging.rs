//! The log's `total` counts every matching event, on every page.

use actix_web::http::StatusCode;
use serde_json::json;

use super::TestApp;

#[actix_web::test]
async fn total_counts_every_matching_event_on_every_page() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.sql(
        "INSERT INTO events (id, partner_id, order_id, event_type, occurred_at, data, ingested_at)
         SELECT 'evt_' || i, 'acme', 'ord_' || i, 'delivered', now(), '{}'::jsonb,
                now() - make_interval(secs => i)
         FROM generate_series(1, 18) AS i",
    )
    .await;
    let past = app.get("/api/v1/events?offset=18", &key).await;
    assert_eq!(past.status, StatusCode::OK);
    assert_eq!(past.body["items"], json!([]));
    assert_eq!(past.body["total"], 18, "{}", past.body);
    assert_eq!(past.body["next_offset"], json!(null));

    app.sql(
        "INSERT INTO events (id, partner_id, order_id, event_type, occurred_at, data, ingested_at)
         SELECT 'evt_' || i, 'acme', 'ord_' || i, 'delivered', now(), '{}'::jsonb,
                now() - make_interval(secs => i)
         FROM generate_series(19, 520) AS i",
    )
    .await;
    let deep = app.get("/api/v1/events?offset=480", &key).await;
    assert_eq!(deep.body["total"], 520, "{}", deep.body);
    assert_eq!(
        deep.body["items"].as_array().unwrap().len(),
        20,
        "the log pages through the newest 500"
    );
    assert_eq!(deep.body["next_offset"], json!(null));
    let end = app.get("/api/v1/events?offset=500", &key).await;
    assert_eq!(end.body["total"], 520);
    assert_eq!(end.body["items"], json!([]));
    app.cleanup().await;
}
