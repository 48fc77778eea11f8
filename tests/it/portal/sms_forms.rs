//! The SMS templates page in-process over a real database: CSRF, one
//! partner's templates only, a refusal redrawn with the field named and the
//! values kept, escaping, and the script policy.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use super::Browser;
use crate::api::TestApp;

fn form<'a>(text: &'a str, dlt_text: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("enabled", "1"),
        ("text", text),
        ("dlt_text", dlt_text),
        ("dlt_template_id", "1107161234567890123"),
        ("sender_header", "SHOPIN"),
        ("entity_id", "1101234567890"),
    ]
}

async fn saved_count(app: &TestApp, partner: &str) -> usize {
    let client = app.state.pool.get().await.unwrap();
    trackwire::store::sms::templates(&**client, partner)
        .await
        .unwrap()
        .len()
}

#[actix_rt::test]
async fn the_sms_page_saves_one_partners_templates_checked_escaped_and_behind_csrf() {
    let app = TestApp::spawn().await;
    app.partner("sms_pa").await;
    app.partner("sms_pb").await;
    let a = Browser::sign_in(&app, "sms_pa").await;

    // Without the session's token nothing is saved.
    let text = "<b>{order_ref}</b> delivered";
    let fields = form(text, "<b>{#var#}</b> delivered");
    let forged = a.post_raw(&app, "/portal/sms/delivered", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(saved_count(&app, "sms_pa").await, 0);

    let saved = a.post(&app, "/portal/sms/delivered", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location, "/portal/sms?saved=delivered#delivered");
    assert_eq!(saved_count(&app, "sms_pa").await, 1);
    assert_eq!(saved_count(&app, "sms_pb").await, 0, "another partner's");
    let page = a.get(&app, "/portal/sms?saved=delivered").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("&lt;b&gt;{order_ref}&lt;/b&gt; delivered"));
    assert!(!page.body.contains("<b>{order_ref}"), "markup is escaped");
    assert!(page.body.contains("Saved the SMS for"));

    // A DLT mismatch comes back on its form, naming the field, values kept.
    let refused = a
        .post(
            &app,
            "/portal/sms/order_confirmed",
            &form("Order {order_ref} confirmed", "Order {#var#} is confirmed"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains(r#"id="error-order_confirmed" data-field="dlt_text""#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Registered DLT text:</strong>"));
    assert!(refused.body.contains("Order {#var#} is confirmed"));
    assert_eq!(saved_count(&app, "sms_pa").await, 1);
    // An OTP outside out_for_delivery names the text.
    let otp = a
        .post(
            &app,
            "/portal/sms/delivered",
            &form("OTP {otp}", "OTP {#var#}"),
        )
        .await;
    assert_eq!(otp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(otp.body.contains(r#"data-field="text""#), "{}", otp.body);
    let unknown = a.post(&app, "/portal/sms/shipped", &fields).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The page runs the portal's own script only.
    let reply = crate::tracking::send(
        &app,
        TestRequest::get()
            .uri("/portal/sms")
            .insert_header(("cookie", a.cookie.clone())),
    )
    .await;
    let policy = reply.header("content-security-policy");
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_default();
    assert_eq!(script_src, "script-src 'self'", "{policy}");
    assert!(reply
        .body
        .contains(r#"<script src="/portal/static/sms.js"></script>"#));
    let script = crate::tracking::send(&app, TestRequest::get().uri("/portal/static/sms.js")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.header("content-type").starts_with("text/javascript"));
}
