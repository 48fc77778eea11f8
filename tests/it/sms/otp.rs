//! The OTP reaches the out_for_delivery SMS and nowhere else: not another
//! SMS, not the service's logs (debug level), not `/metrics`, not Kannel's
//! logs, and not one page of the portal a signed-in merchant can reach by
//! following links (live fragments, the order's SMS section and its public
//! tracking page included). The customer's number likewise appears only
//! masked.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use trackwire::dev::feed::advance;

use super::live::{order_with_phone, LiveSms, OPERATOR};
use super::smsc::TEMPLATE_ID;
use crate::harness::eventually;

const PARTNER: &str = "smsotp";
/// Long and distinctive, so that finding it anywhere means a leak and not
/// a timestamp that happens to hold the same digits.
const OTP: &str = "73918462";
/// The test customer's number as the SMSC sees it, without `+91`.
const NUMBER: &str = "9812345678";
/// Pages the crawl visits at most.
const MAX_PAGES: usize = 300;

/// One HTTP answer: status, `Set-Cookie` values, body.
struct Answer {
    status: u16,
    cookies: Vec<String>,
    location: String,
    body: String,
}

async fn http(method: &str, url: &str, cookie: &str, form: Option<String>) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder().method(method).uri(url);
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    if form.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let body = Full::new(Bytes::from(form.unwrap_or_default()));
    let resp = client.request(req.body(body).unwrap()).await.unwrap();
    let header_values = |name: &str| -> Vec<String> {
        resp.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    };
    let cookies = header_values("set-cookie");
    let location = header_values("location").pop().unwrap_or_default();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        cookies,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `name=value` of cookie `name` among `Set-Cookie` values.
fn cookie(answer: &Answer, name: &str) -> String {
    answer
        .cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", answer.cookies))
        .to_owned()
}

/// The value of the hidden field `name` in a form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let at = html.find(&marker).expect("field") + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// Signs the partner in over plain HTTP, as a browser does; answers the
/// session cookie.
async fn sign_in(live: &LiveSms) -> String {
    let (status, link) = crate::portal::steps::request(
        "POST",
        &format!("{}/api/v1/partners/{PARTNER}/portal-link", live.base()),
        Some(OPERATOR),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap();
    let token = url.split_once("token=").unwrap().1;
    let shown = http("GET", url, "", None).await;
    let login = cookie(&shown, "tw_login");
    let form = format!(
        "login_csrf={}&token={token}",
        hidden(&shown.body, "login_csrf")
    );
    let signed = http(
        "POST",
        &format!("{}/portal/login", live.base()),
        &login,
        Some(form),
    )
    .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    cookie(&signed, "tw_session")
}

/// Every same-origin link, script and live fragment a page names.
fn links(html: &str, base: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "data-live=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            let raw = rest[..rest.find('"').unwrap_or(0)].replace("&amp;", "&");
            let path = raw.strip_prefix(base).unwrap_or(&raw);
            let path = path.split('#').next().unwrap_or("");
            if path.starts_with('/') && !path.starts_with("//") {
                out.push(path.to_owned());
            }
        }
    }
    out
}

/// Follows every link from `/portal` as the signed-in partner; answers
/// each page visited with its body.
async fn crawl(live: &LiveSms, session: &str) -> Vec<(String, String)> {
    let base = live.base();
    let mut seen = BTreeSet::from(["/portal".to_owned()]);
    let mut queue = VecDeque::from(["/portal".to_owned()]);
    let mut pages = Vec::new();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= MAX_PAGES {
            break;
        }
        let answer = http("GET", &format!("{base}{path}"), session, None).await;
        let next = if answer.status == 303 {
            vec![answer.location.clone()]
        } else {
            links(&answer.body, &base)
        };
        for link in next {
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
        pages.push((path, answer.body));
    }
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_otp_reaches_the_sms_and_no_log_metric_or_portal_page() {
    let live = LiveSms::start().await;
    live.partner(PARTNER, "SHOPOT", "1106").await;
    let mut service = live.service(&[]).await;

    // One order through the OMS: confirmed, out for delivery, delivered.
    let confirmed = order_with_phone("OTP-1", PARTNER);
    let mut out = advance(&confirmed, "OUT_FOR_DELIVERY", chrono::Utc::now());
    out.delivery_otp = Some(OTP.into());
    let delivered = advance(&out, "DELIVERED", chrono::Utc::now());
    live.env.change("c", None, &confirmed).await;
    live.env.change("u", Some(&confirmed), &out).await;
    live.env.change("u", Some(&out), &delivered).await;
    let smsc = live.smsc.clone();
    assert!(
        eventually(Duration::from_secs(30), || smsc.received().len() >= 3).await,
        "{:?}\n{}",
        live.smsc.received(),
        service.logs()
    );
    let got = live.smsc.received();
    assert_eq!(got.len(), 3, "{got:?}");
    for m in &got {
        // Template ids are `1106` + the type's position: 01 is out_for_delivery.
        let out_for_delivery = m.tlv(TEMPLATE_ID).as_deref() == Some("110601");
        assert_eq!(m.text.contains(OTP), out_for_delivery, "{m:?}");
        live.smsc.report(m, "DELIVRD");
    }
    let delivered_all = || async {
        live.outbox(PARTNER)
            .await
            .iter()
            .all(|(_, state)| state == "delivered")
    };
    let mut reported = false;
    for _ in 0..100 {
        reported = delivered_all().await;
        if reported {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reported, "{:?}", live.outbox(PARTNER).await);

    // The portal, every page the merchant can reach.
    let session = sign_in(&live).await;
    let pages = crawl(&live, &session).await;
    let visited: Vec<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
    let order_page = pages
        .iter()
        .find(|(p, _)| p == "/portal/orders/OTP-1")
        .unwrap_or_else(|| panic!("the order page is not reachable: {visited:?}"));
    assert_eq!(order_page.1.matches(r#"class="sms-row""#).count(), 3);
    assert!(order_page.1.contains("+91********78"), "{}", order_page.1);
    for needed in ["/portal/sms", "/track/", "/portal/live/orders/OTP-1"] {
        assert!(
            visited.iter().any(|p| p.starts_with(needed)),
            "{needed} not reached: {visited:?}"
        );
    }
    for (path, body) in &pages {
        assert!(!body.contains(OTP), "the OTP on {path}:\n{body}");
        assert!(!body.contains(NUMBER), "the number on {path}:\n{body}");
    }

    // The metrics count the SMS, and carry neither secret.
    let metrics = http(
        "GET",
        &format!("http://127.0.0.1:{}/metrics", live.metrics_port),
        "",
        None,
    )
    .await
    .body;
    assert!(
        metrics.contains(&format!(r#"partner="{PARTNER}""#))
            && metrics.contains("trackwire_sms_total"),
        "{metrics}"
    );
    assert!(!metrics.contains(OTP), "{metrics}");
    assert!(!metrics.contains(NUMBER), "{metrics}");

    // Nor do the logs, of trackwire (at debug) and of Kannel.
    service.assert_running();
    let logs = service.logs();
    assert!(
        logs.contains("SMS accepted by the gateway")
            && logs.contains("SMS delivery report recorded"),
        "the service logged its SMS work:\n{logs}"
    );
    assert!(!logs.contains(OTP), "{logs}");
    assert!(!logs.contains(NUMBER), "{logs}");
    let kannel = live.kannel.logs();
    assert!(!kannel.contains(OTP), "{kannel}");
    assert!(!kannel.contains(NUMBER), "{kannel}");
    eprintln!(
        "OTP and number absent from {} portal pages, /metrics and the logs",
        pages.len()
    );
}
