//! The portal's bulk retry comes back to the log with the filter it was
//! given, status included, and says how many deliveries it queued.

use actix_web::http::StatusCode;

use crate::api::TestApp;
use crate::portal::Browser;

#[actix_web::test]
async fn a_bulk_retry_keeps_the_status_filter_and_counts_what_it_queued() {
    let app = TestApp::spawn().await;
    let key = app.partner("acme").await;
    app.endpoint(&key, "http://127.0.0.1:9/hooks", &["delivered"])
        .await;
    for _ in 0..2 {
        app.event("acme", "delivered").await;
    }
    app.sql("UPDATE deliveries SET state = 'dead', attempts = 4, finished_at = now()")
        .await;
    let browser = Browser::sign_in(&app, "acme").await;

    let bulk = browser
        .post(
            &app,
            "/portal/deliveries/retry",
            &[("status", "dead"), ("event_type", "delivered")],
        )
        .await;

    assert_eq!(bulk.status, StatusCode::SEE_OTHER, "{}", bulk.body);
    assert!(bulk.location.contains("status=dead"), "{}", bulk.location);
    assert!(
        bulk.location.contains("event_type=delivered"),
        "{}",
        bulk.location
    );
    let page = browser.get(&app, &bulk.location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("2 deliveries queued for a retry"),
        "{}",
        page.body
    );
    // The status filter is still selected on the form.
    assert!(
        page.body.contains(r#"<option value="dead" selected"#),
        "{}",
        page.body
    );
    app.cleanup().await;
}
