//! What reaches the SMSC through Kannel, and what comes back.

use std::time::Duration;

use trackwire::schema::EventType;

use super::smsc::{Submitted, PE_ID, TEMPLATE_ID};
use super::{sms_event, Rig};
use crate::tracking::{ingest, token_of, JOURNEY, OTP};

/// The number as the SMSC sees it: E.164 digits (Kannel may drop the `+`).
fn digits(addr: &str) -> &str {
    addr.trim_start_matches('+')
}

fn of_template<'a>(got: &'a [Submitted], template_id: &str) -> Vec<&'a Submitted> {
    got.iter()
        .filter(|m| m.tlv(TEMPLATE_ID).as_deref() == Some(template_id))
        .collect()
}

#[actix_rt::test]
async fn each_event_type_reaches_the_smsc_with_its_text_and_dlt_ids_and_reports_come_back() {
    let rig = Rig::start().await;
    rig.partner("smsa", "SHOPAA", "1101").await;
    let events: Vec<_> = JOURNEY
        .iter()
        .enumerate()
        .map(|(n, ty)| sms_event("smsa", "o1", *ty, n as i64 + 1))
        .collect();
    ingest(&rig.app, &events).await;
    assert!(
        rig.drain_until(Duration::from_secs(20), |got| got.len() >= 6)
            .await,
        "SMS missing at the SMSC: {:?}\n{}",
        rig.smsc.received(),
        rig.kannel.logs()
    );
    let got = rig.smsc.received();
    assert_eq!(got.len(), 6, "one SMS per event: {got:?}");
    let token = token_of(&rig.app, "smsa", "o1").await.unwrap();
    let link = rig.app.state.api.tracking_pages.url(&token);
    let expected = |ty: EventType| -> String {
        match ty {
            EventType::OrderConfirmed => {
                format!("Partner smsa: order REF-o1 confirmed. Track: {link}")
            }
            EventType::OutForDelivery => format!("Ravi brings REF-o1 at 15:00-16:00. OTP {OTP}"),
            EventType::Delivered => "Partner smsa: आपका ऑर्डर REF-o1 पहुँच गया".to_owned(),
            EventType::DeliveryFailed => {
                "REF-o1 not delivered: Customer not reachable at the ".to_owned()
            }
            EventType::ReturnInitiated => "Return of REF-o1 requested".to_owned(),
            EventType::ReturnPickedUp => "Return of REF-o1 picked up".to_owned(),
        }
    };
    for (n, ty) in EventType::ALL.into_iter().enumerate() {
        let template_id = format!("11010{n}");
        let sent = of_template(&got, &template_id);
        assert_eq!(sent.len(), 1, "{ty}: {got:?}");
        let m = sent[0];
        assert_eq!(m.text, expected(ty), "{ty}");
        assert_eq!(m.source, "SHOPAA", "{ty}");
        assert_eq!(digits(&m.destination), "919812345678", "{ty}");
        assert_eq!(m.tlv(PE_ID).as_deref(), Some("1101"), "{ty}");
        assert_ne!(m.registered_delivery, 0, "{ty}: a report is requested");
        assert_eq!(
            m.esm_class & 0x40,
            0,
            "{ty}: one SMS, no concatenation header"
        );
        let ucs2 = ty == EventType::Delivered;
        assert_eq!(m.data_coding == 8, ucs2, "{ty}: coding {}", m.data_coding);
        // The OTP is in the out_for_delivery SMS and no other.
        assert_eq!(
            m.text.contains(OTP),
            ty == EventType::OutForDelivery,
            "{ty}"
        );
    }
    let states: Vec<String> = rig.outbox("smsa").await.into_iter().map(|r| r.1).collect();
    assert_eq!(states, vec!["accepted"; 6]);

    // Receipts: five delivered, the return pickup expired.
    for m in &got {
        let expired = m.tlv(TEMPLATE_ID).as_deref() == Some("110105");
        rig.smsc
            .report(m, if expired { "EXPIRED" } else { "DELIVRD" });
    }
    let mut final_rows = Vec::new();
    for _ in 0..100 {
        final_rows = rig.outbox("smsa").await;
        if final_rows.iter().all(|r| r.1 != "accepted") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (ty, state, phone, attempts) in &final_rows {
        let want = if ty == "return_picked_up" {
            "expired"
        } else {
            "delivered"
        };
        assert_eq!(state, want, "{ty}: {final_rows:?}");
        assert_eq!(*phone, None, "{ty}: the number is dropped once final");
        assert_eq!(*attempts, 1, "{ty}");
    }
    // The order's page lists each SMS with its state and the masked number,
    // never the text (OTP) nor the number.
    let browser = crate::portal::Browser::sign_in(&rig.app, "smsa").await;
    let page = browser.get(&rig.app, "/portal/orders/o1").await;
    assert_eq!(page.status, actix_web::http::StatusCode::OK);
    assert_eq!(
        page.body.matches(r#"class="sms-row""#).count(),
        6,
        "{}",
        page.body
    );
    assert_eq!(page.body.matches(r#"data-state="delivered""#).count(), 5);
    assert_eq!(page.body.matches(r#"data-state="expired""#).count(), 1);
    assert!(page.body.contains("+91********78"), "{}", page.body);
    assert!(!page.body.contains(OTP), "{}", page.body);
    assert!(!page.body.contains("9812345678"), "{}", page.body);
    // Kannel's own logs hold neither the OTP nor the number.
    let logs = rig.kannel.logs();
    assert!(!logs.contains(OTP), "{logs}");
    assert!(!logs.contains("9812345678"), "{logs}");
}

#[actix_rt::test]
async fn the_gateway_down_for_a_while_loses_nothing_and_sends_nothing_twice() {
    let rig = Rig::start().await;
    rig.partner("smsb", "SHOPBB", "1102").await;
    rig.kannel.stop();
    let events: Vec<_> = (1..=4)
        .map(|n| sms_event("smsb", &format!("o{n}"), EventType::ReturnInitiated, 1))
        .collect();
    ingest(&rig.app, &events).await;
    for _ in 0..4 {
        rig.round().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let waiting = rig.outbox("smsb").await;
    assert_eq!(waiting.len(), 4);
    for (_, state, phone, attempts) in &waiting {
        assert_eq!(state, "pending");
        assert!(*attempts >= 1, "tried while down: {waiting:?}");
        assert!(phone.is_some(), "kept while the SMS needs it");
    }
    assert!(rig.smsc.received().is_empty());

    rig.kannel.start();
    assert!(
        rig.drain_until(Duration::from_secs(30), |got| got.len() >= 4)
            .await,
        "{:?}\n{}",
        rig.smsc.received(),
        rig.kannel.logs()
    );
    // A few more rounds: nothing else is sent.
    for _ in 0..5 {
        rig.round().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut texts: Vec<String> = rig.smsc.received().into_iter().map(|m| m.text).collect();
    texts.sort();
    assert_eq!(
        texts,
        (1..=4)
            .map(|n| format!("Return of REF-o{n} requested"))
            .collect::<Vec<_>>()
    );
    assert!(rig.outbox("smsb").await.iter().all(|r| r.1 == "accepted"));
}

#[actix_rt::test]
async fn stop_opts_the_number_out_of_that_merchant_only_and_partners_keep_their_templates() {
    let rig = Rig::start().await;
    rig.partner("smsc1", "SHOPCC", "1103").await;
    rig.partner("smsd1", "SHOPDD", "1104").await;
    let first = [
        sms_event("smsc1", "c1", EventType::OrderConfirmed, 1),
        sms_event("smsd1", "d1", EventType::OrderConfirmed, 1),
    ];
    ingest(&rig.app, &first).await;
    assert!(
        rig.drain_until(Duration::from_secs(20), |got| got.len() >= 2)
            .await
    );
    // Each partner's SMS carries its own header, entity and template id.
    let got = rig.smsc.received();
    for (header, entity) in [("SHOPCC", "1103"), ("SHOPDD", "1104")] {
        let mine: Vec<_> = got.iter().filter(|m| m.source == header).collect();
        assert_eq!(mine.len(), 1, "{header}: {got:?}");
        assert_eq!(mine[0].tlv(PE_ID).as_deref(), Some(entity));
        assert_eq!(
            mine[0].tlv(TEMPLATE_ID).as_deref(),
            Some(format!("{entity}00").as_str())
        );
    }

    // The customer replies to the first merchant.
    rig.smsc.reply("919812345678", "SHOPCC", "stop shopcc");
    let client = rig.app.state.pool.get().await.unwrap();
    let mut opted = 0;
    for _ in 0..100 {
        opted = client
            .query_one(
                "SELECT count(*) FROM sms_opt_outs WHERE partner_id = 'smsc1'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        if opted == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(opted, 1, "{}", rig.kannel.logs());

    let second = [
        sms_event("smsc1", "c1", EventType::OutForDelivery, 2),
        sms_event("smsd1", "d1", EventType::OutForDelivery, 2),
    ];
    ingest(&rig.app, &second).await;
    assert!(
        rig.drain_until(Duration::from_secs(20), |got| got.len() >= 3)
            .await
    );
    for _ in 0..5 {
        rig.round().await;
    }
    let got = rig.smsc.received();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2].source, "SHOPDD");
    let states: Vec<String> = rig.outbox("smsc1").await.into_iter().map(|r| r.1).collect();
    assert_eq!(states, ["accepted", "opted_out"]);
}
