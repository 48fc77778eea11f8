//! The edges of the SMS flow through the real Kannel: numbers that cannot
//! get an SMS, a gateway that refuses for good, Kannel's callbacks without
//! their token, and the per-partner pace.

use std::time::Duration;

use actix_web::http::StatusCode;
use trackwire::schema::EventType;
use trackwire::sms::gateway::kannel::{Kannel, KannelSettings};
use trackwire::sms::phone::PhoneOnRecord;
use trackwire::sms::sender::{self, SenderSettings};

use super::{sms_event, Rig};
use crate::api::SMS_CALLBACK_TOKEN;
use crate::tracking::ingest;

/// A plain GET to the rig's HTTP server: the status.
async fn get_status(rig: &Rig, path_and_query: &str) -> u16 {
    let (status, _) = crate::portal::steps::request(
        "GET",
        &format!("http://127.0.0.1:{}{path_and_query}", rig.http_port),
        None,
    )
    .await
    .expect("an answer");
    status
}

/// The outbox row id of the first SMS of `partner`.
async fn first_id(rig: &Rig, partner: &str) -> i64 {
    let client = rig.app.state.pool.get().await.unwrap();
    client
        .query_one(
            "SELECT min(id) FROM sms_outbox WHERE partner_id = $1",
            &[&partner],
        )
        .await
        .unwrap()
        .get(0)
}

#[actix_rt::test]
async fn a_missing_or_invalid_number_means_no_sms_recorded_and_shown_and_the_batch_goes_on() {
    let rig = Rig::start().await;
    rig.partner("smsph", "SHOPPH", "1107").await;
    let mut missing = sms_event("smsph", "p2", EventType::OrderConfirmed, 1);
    missing.customer_phone = PhoneOnRecord::from_column(None);
    let mut invalid = sms_event("smsph", "p3", EventType::OrderConfirmed, 1);
    invalid.customer_phone = PhoneOnRecord::from_column(Some("12345"));
    let valid = sms_event("smsph", "p1", EventType::OrderConfirmed, 1);
    // One batch: the unusable numbers do not hold back the good one.
    ingest(&rig.app, &[missing, valid, invalid]).await;
    assert!(
        rig.drain_until(Duration::from_secs(20), |got| !got.is_empty())
            .await
    );
    for _ in 0..3 {
        rig.round().await;
    }
    assert_eq!(rig.smsc.received().len(), 1, "{:?}", rig.smsc.received());
    let mut states: Vec<(String, Option<String>)> = rig
        .outbox("smsph")
        .await
        .into_iter()
        .map(|(_, state, phone, _)| (state, phone))
        .collect();
    states.sort();
    assert_eq!(
        states,
        [
            ("accepted".to_owned(), Some("+919812345678".to_owned())),
            ("invalid_phone".to_owned(), None),
            ("no_phone".to_owned(), None),
        ]
    );
    let browser = crate::portal::Browser::sign_in(&rig.app, "smsph").await;
    let missing_page = browser.get(&rig.app, "/portal/orders/p2").await;
    assert!(
        missing_page
            .body
            .contains("not sent: no phone number on the order"),
        "{}",
        missing_page.body
    );
    let invalid_page = browser.get(&rig.app, "/portal/orders/p3").await;
    assert!(
        invalid_page
            .body
            .contains("not sent: the phone number is not a mobile number"),
        "{}",
        invalid_page.body
    );
    assert!(
        !invalid_page.body.contains("12345"),
        "{}",
        invalid_page.body
    );
}

#[actix_rt::test]
async fn a_gateway_that_refuses_is_retried_on_schedule_then_the_sms_is_failed() {
    let rig = Rig::start().await;
    rig.partner("smsrf", "SHOPRF", "1108").await;
    ingest(
        &rig.app,
        &[sms_event("smsrf", "r1", EventType::ReturnInitiated, 1)],
    )
    .await;
    // Wrong credentials: smsbox answers 403 to every send.
    let refusing = Kannel::new(KannelSettings {
        sendsms_url: url::Url::parse(&format!(
            "http://127.0.0.1:{}/cgi-bin/sendsms",
            rig.kannel.sendsms_port
        ))
        .unwrap(),
        username: "trackwire".into(),
        password: "not-the-password".into(),
        smsc_id: Some("sim".into()),
        callback_base_url: format!("http://127.0.0.1:{}", rig.http_port),
        callback_token: SMS_CALLBACK_TOKEN.into(),
        timeout: Duration::from_secs(5),
    });
    let settings = SenderSettings {
        retry_schedule: vec![Duration::from_millis(100); 2],
        ..rig.settings.clone()
    };
    let mut rows = Vec::new();
    for _ in 0..40 {
        sender::round(
            &rig.app.state.pool,
            &refusing,
            &rig.app.state.api.tracking_pages,
            &settings,
        )
        .await
        .unwrap();
        rows = rig.outbox("smsrf").await;
        if rows[0].1 == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let (_, state, phone, attempts) = &rows[0];
    assert_eq!(state, "failed", "{rows:?}");
    assert_eq!(*attempts, 3, "the first try and two retries");
    assert_eq!(*phone, None, "the number is dropped once final");
    assert!(rig.smsc.received().is_empty());
    let client = rig.app.state.pool.get().await.unwrap();
    let error: String = client
        .query_one(
            "SELECT last_error FROM sms_outbox WHERE partner_id = 'smsrf'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(error.contains("403"), "{error}");
}

#[actix_rt::test]
async fn callbacks_without_the_token_are_refused_and_change_nothing() {
    let rig = Rig::start().await;
    rig.partner("smstk", "SHOPTK", "1109").await;
    ingest(
        &rig.app,
        &[sms_event("smstk", "t1", EventType::ReturnInitiated, 1)],
    )
    .await;
    assert!(
        rig.drain_until(Duration::from_secs(20), |got| !got.is_empty())
            .await
    );
    let id = first_id(&rig, "smstk").await;
    let report = |token: &str| format!("/sms/kannel/dlr?token={token}&id={id}&type=1&reply=x");
    for path in [
        format!("/sms/kannel/dlr?id={id}&type=1&reply=x"),
        report("wrongtoken0123456789abcd"),
        "/sms/kannel/mo?from=%2B919812345678&text=STOP".to_owned(),
        "/sms/kannel/mo?token=wrongtoken0123456789abcd&from=%2B919812345678&text=STOP".to_owned(),
    ] {
        assert_eq!(
            get_status(&rig, &path).await,
            StatusCode::UNAUTHORIZED.as_u16(),
            "{path}"
        );
    }
    assert_eq!(rig.outbox("smstk").await[0].1, "accepted");
    let client = rig.app.state.pool.get().await.unwrap();
    let opted: i64 = client
        .query_one("SELECT count(*) FROM sms_opt_outs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(opted, 0, "no opt-out without the token");
    // With the token the same report is recorded.
    assert_eq!(get_status(&rig, &report(SMS_CALLBACK_TOKEN)).await, 204);
    assert_eq!(rig.outbox("smstk").await[0].1, "delivered");
}

#[actix_rt::test]
async fn a_partners_backlog_goes_at_its_pace_and_never_holds_up_another() {
    let mut rig = Rig::start().await;
    rig.partner("smsbig", "SHOPBG", "1110").await;
    rig.partner("smssml", "SHOPSM", "1111").await;
    rig.settings.per_partner_per_round = 3;
    let mut sale: Vec<_> = (0..10)
        .map(|n| sms_event("smsbig", &format!("b{n}"), EventType::ReturnInitiated, 1))
        .collect();
    sale.push(sms_event("smssml", "s0", EventType::ReturnInitiated, 1));
    sale.push(sms_event("smssml", "s1", EventType::ReturnInitiated, 1));
    ingest(&rig.app, &sale).await;
    // One round: three of the sale, and both of the small shop's.
    assert_eq!(rig.round().await, 5);
    let sent = |partner: &'static str| {
        let rig = &rig;
        async move {
            rig.outbox(partner)
                .await
                .iter()
                .filter(|r| r.1 == "accepted")
                .count()
        }
    };
    assert_eq!((sent("smsbig").await, sent("smssml").await), (3, 2));
    assert_eq!(rig.round().await, 3);
    assert_eq!(rig.round().await, 3);
    assert_eq!(rig.round().await, 1);
    assert_eq!(sent("smsbig").await, 10);
    assert!(
        rig.drain_until(Duration::from_secs(20), |got| got.len() >= 12)
            .await
    );
}
