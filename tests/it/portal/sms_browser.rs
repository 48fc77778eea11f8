//! The SMS templates page in headless chromium against the real binary: a
//! merchant reaches it from the navigation and the tracking page, types a
//! GSM-7 text and a Hindi one and sees the preview, character count,
//! encoding and SMS parts follow as they type, equal to what the server
//! computes (`src/sms/parts.rs`) and answers once saved; a text that differs
//! from its registered DLT text is refused on its form, naming the field;
//! a type is switched off; the page fits a 390 px phone. Screenshots go to
//! `target/portal-screenshots/sms-*.png`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trackwire::schema::EventType;
use trackwire::sms::parts;
use trackwire::sms::template::{dlt_text_of, sample_values};
use trackwire::sms::Template;

use super::steps::{fits_width, screenshots, Portal};
use super::webdriver::{Driver, Session};
use crate::harness::TestEnv;

const OPERATOR: &str = "operator-token-for-the-sms-browser-test-0123456";
const PARTNER: &str = "sms-shop";
/// GSM-7 with extension characters (`[`, `]`, `€` take two septets), long
/// enough on the sample values for two SMS.
const GSM_TEXT: &str = "{merchant}: order {order_ref} is confirmed [pay €0 on delivery]. \
Track it: {tracking_link} Questions? Reply to this SMS or call us, we are happy to help.";
/// Hindi: UCS-2, two SMS on the sample values.
const HINDI_TEXT: &str = "{merchant}: आपका ऑर्डर {order_ref} पहुँच गया है। धन्यवाद, फिर से खरीदारी करें!";

/// What the page shows of one type's size.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    /// `browser` once the script counted, `server` as the page came.
    source: String,
    chars: usize,
    encoding: String,
    parts: usize,
    preview: String,
    dlt_expected: String,
    dlt_match: String,
}

async fn shown(browser: &Session<'_>, ty: EventType) -> Shown {
    let v = browser
        .execute(
            "const t = arguments[0]; const $ = (id) => document.getElementById(id + '-' + t);
             const size = $('size');
             return [size.getAttribute('data-source'), size.querySelector('.chars').textContent,
                     size.querySelector('.encoding').textContent, size.querySelector('.parts').textContent,
                     $('preview').textContent, $('dlt-expected').textContent, $('dlt-match').textContent];",
            json!([ty.as_str()]),
        )
        .await;
    let s = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
    Shown {
        source: s(0),
        chars: s(1).parse().unwrap(),
        encoding: s(2),
        parts: s(3).parse().unwrap(),
        preview: s(4),
        dlt_expected: s(5),
        dlt_match: s(6),
    }
}

/// What the server computes for `text` of type `ty`: preview, units,
/// encoding, parts.
fn server_size(ty: EventType, text: &str) -> (String, usize, &'static str, usize) {
    let t = Template {
        event_type: ty,
        enabled: true,
        text: text.into(),
        dlt_text: dlt_text_of(text).unwrap(),
        dlt_template_id: "1".into(),
        sender_header: "SHOPIN".into(),
        entity_id: "1".into(),
    };
    let preview = t.render(&sample_values()).unwrap();
    let size = parts::count(&preview);
    (preview, size.units, size.encoding.as_str(), size.count)
}

/// Types a template into the form of `ty`, without saving.
async fn type_template(browser: &Session<'_>, ty: EventType, text: &str, dlt_text: &str, id: &str) {
    let t = ty.as_str();
    browser.fill(&format!("#text-{t}"), text).await;
    browser.fill(&format!("#dlt_text-{t}"), dlt_text).await;
    browser.fill(&format!("#dlt_template_id-{t}"), id).await;
    browser.fill(&format!("#sender_header-{t}"), "SHOPIN").await;
    browser
        .fill(&format!("#entity_id-{t}"), "1101234567890")
        .await;
}

/// Waits until the script has counted what was typed.
async fn counted(browser: &Session<'_>, ty: EventType, preview: &str) -> Shown {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = shown(browser, ty).await;
        if now.source == "browser" && now.preview == preview {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the live preview did not follow: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The template of `ty` as the API lists it to an operator.
async fn listed(portal: &Portal, ty: EventType) -> Value {
    let (status, body) = portal
        .operator_get(&format!("/api/v1/partners/{PARTNER}/sms/templates"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["event_type"] == ty.as_str())
        .cloned()
        .unwrap()
}

/// Types `text` for `ty`, checks the live count against the server's, saves
/// it switched on and checks the saved page and the API say the same.
async fn type_and_save(
    portal: &Portal,
    browser: &Session<'_>,
    ty: EventType,
    text: &str,
    shot: &str,
) {
    let t = ty.as_str();
    let (preview, units, encoding, count) = server_size(ty, text);
    let dlt = dlt_text_of(text).unwrap();
    type_template(browser, ty, text, &dlt, "1107161234567890123").await;
    let live = counted(browser, ty, &preview).await;
    assert_eq!(
        (live.chars, live.encoding.as_str(), live.parts),
        (units, encoding, count),
        "{ty}: the live count differs from the server's"
    );
    assert_eq!(live.dlt_expected, dlt, "{ty}");
    assert!(live.dlt_match.contains("matches"), "{live:?}");
    if !browser
        .execute(
            &format!("return document.getElementById('enabled-{t}').checked;"),
            json!([]),
        )
        .await
        .as_bool()
        .unwrap_or(false)
    {
        browser.click_in_place(&format!("#enabled-{t}")).await;
    }
    browser.screenshot(&screenshots().join(shot)).await;
    browser.click(&format!("#save-{t}")).await;
    assert!(
        browser.url().await.contains(&format!("saved={t}")),
        "{}",
        browser.text("main").await
    );
    let saved = shown(browser, ty).await;
    assert_eq!(saved.source, "server");
    assert_eq!(
        (
            saved.chars,
            saved.encoding.as_str(),
            saved.parts,
            saved.preview.as_str()
        ),
        (
            live.chars,
            live.encoding.as_str(),
            live.parts,
            live.preview.as_str()
        ),
        "{ty}: the saved page differs from the live count"
    );
    assert!(browser.text(&format!("#state-{t}")).await.contains("On"));
    let api = listed(portal, ty).await;
    assert_eq!(api["saved"], true, "{api}");
    assert_eq!(api["enabled"], true, "{api}");
    assert_eq!(api["text"], text, "{api}");
    assert_eq!(api["characters"], live.chars, "{api}");
    assert_eq!(api["encoding"], live.encoding, "{api}");
    assert_eq!(api["parts"], live.parts, "{api}");
    assert_eq!(api["preview"], live.preview, "{api}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_edits_sms_templates_with_a_live_count_equal_to_the_servers_in_chromium() {
    let shots = screenshots();
    let env = TestEnv::new(1).await;
    env.partner(PARTNER).await;
    let mut portal = Portal::start(&env, OPERATOR, &[]).await;
    let base = portal.base.clone();
    let driver = Driver::start(&env.dir.join("chromedriver.log")).await;
    let browser = driver.session().await;
    portal.sign_in(&browser, PARTNER, None).await;

    // Reached from the tracking page and the navigation.
    browser.goto(&format!("{base}/portal/tracking")).await;
    browser.click("#sms-link").await;
    assert!(browser.url().await.ends_with("/portal/sms"));
    browser.goto(&format!("{base}/portal/endpoints")).await;
    browser.click(r#"nav a[href="/portal/sms"]"#).await;
    assert!(browser.url().await.ends_with("/portal/sms"));
    let sections = browser
        .execute(
            "return document.querySelectorAll('section.sms-type').length;",
            json!([]),
        )
        .await;
    assert_eq!(sections, json!(6), "one form per event type");
    browser
        .screenshot(&shots.join("sms-01-templates.png"))
        .await;

    type_and_save(
        &portal,
        &browser,
        EventType::OrderConfirmed,
        GSM_TEXT,
        "sms-02-gsm-typed.png",
    )
    .await;
    let gsm = shown(&browser, EventType::OrderConfirmed).await;
    assert_eq!((gsm.encoding.as_str(), gsm.parts), ("GSM-7", 2), "{gsm:?}");
    browser
        .screenshot(&shots.join("sms-03-gsm-saved.png"))
        .await;
    type_and_save(
        &portal,
        &browser,
        EventType::Delivered,
        HINDI_TEXT,
        "sms-04-hindi-typed.png",
    )
    .await;
    let hindi = shown(&browser, EventType::Delivered).await;
    assert_eq!(
        (hindi.encoding.as_str(), hindi.parts),
        ("UCS-2", 2),
        "{hindi:?}"
    );

    // A text that differs from its DLT registration is refused on its form.
    let failed = EventType::DeliveryFailed;
    let text = "We could not deliver {order_ref}: {failure_reason}. We will try again.";
    let registered = "We could not deliver {#var#}: {#var#}. We will try tomorrow.";
    type_template(&browser, failed, text, registered, "1107161234567890999").await;
    let live = counted(&browser, failed, &server_size(failed, text).0).await;
    assert!(live.dlt_match.contains("differs"), "{live:?}");
    browser.click("#save-delivery_failed").await;
    let error = browser.text("#error-delivery_failed").await;
    assert!(error.contains("Registered DLT text"), "{error}");
    let refused: Value = browser
        .execute(
            "const e = document.getElementById('error-delivery_failed');
             const f = document.getElementById('dlt_text-delivery_failed');
             return [e.getAttribute('data-field'), f.getAttribute('aria-invalid'), f.value,
                     document.getElementById('text-delivery_failed').value];",
            json!([]),
        )
        .await;
    assert_eq!(refused, json!(["dlt_text", "true", registered, text]));
    browser
        .screenshot(&shots.join("sms-05-dlt-refused.png"))
        .await;
    assert_eq!(listed(&portal, failed).await["saved"], false);

    // A saved type switched off.
    browser.goto(&format!("{base}/portal/sms")).await;
    browser.click_in_place("#enabled-order_confirmed").await;
    browser.click("#save-order_confirmed").await;
    assert!(browser.text("#state-order_confirmed").await.contains("Off"));
    let off = listed(&portal, EventType::OrderConfirmed).await;
    assert_eq!(
        (off["saved"].clone(), off["enabled"].clone()),
        (json!(true), json!(false)),
        "{off}"
    );
    browser
        .screenshot(&shots.join("sms-06-switched-off.png"))
        .await;

    // On a phone: typed there too, and nothing scrolls sideways.
    browser.resize(390, 844).await;
    browser.goto(&format!("{base}/portal/sms")).await;
    browser
        .fill("#text-return_initiated", "Return of {order_ref} requested")
        .await;
    counted(
        &browser,
        EventType::ReturnInitiated,
        "Return of SHOP-104233 requested",
    )
    .await;
    assert!(
        fits_width(&browser).await,
        "the SMS page scrolls sideways on a phone"
    );
    browser.screenshot(&shots.join("sms-07-phone.png")).await;
    browser.quit().await;
    portal.service.assert_running();
}
