//! Endpoint URLs are read the way a URL standard parser reads them.

use actix_web::http::StatusCode;
use serde_json::json;

use super::{assert_problem, TestApp};

#[actix_web::test]
async fn url_hosts_are_read_as_a_url_standard_parser_reads_them() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    for url in [
        "https://0x7f000002/x", // 127.0.0.1 itself is allowlisted here
        "https://2130706434/x",
        "https://127.2/x",
        "https://0177.0.0.2/x",
        "https://0xa9.0xfe.0xa9.0xfe/latest",
        "https://[::ffff:7f00:1]/x",
        "https://LOCALHOST./x",
    ] {
        let answer = app
            .post(
                "/api/v1/endpoints",
                &key,
                json!({ "url": url, "event_types": ["delivered"] }),
            )
            .await;
        assert_problem(&answer, 422, "invalid-field");
        assert_eq!(answer.body["field"], "url", "{url}");
        assert!(
            answer.body["detail"].as_str().unwrap().contains("internal"),
            "{url}: {}",
            answer.body
        );
    }
    let idn = app
        .post(
            "/api/v1/endpoints",
            &key,
            json!({ "url": "https://exämple.com/hooks", "event_types": ["delivered"] }),
        )
        .await;
    assert_eq!(idn.status, StatusCode::CREATED, "{}", idn.body);
    assert_eq!(idn.body["url"], "https://xn--exmple-cua.com/hooks");
    app.cleanup().await;
}
