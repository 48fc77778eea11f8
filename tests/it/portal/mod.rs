//! Portal tests: pages in-process over a real database (sign-in, CSRF,
//! tenant isolation, escaping), and an end-to-end run in headless chromium
//! against the real binary.

mod browser;
mod gone;
mod isolation;
mod phone;
mod rate_limit;
mod signing;
mod sms_browser;
mod sms_forms;
pub mod steps;
mod tracking_browser;
mod versions;
pub mod webdriver;

use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, App};

use crate::api::{TestApp, OPERATOR};
use trackwire::http::{api_v1, portal};

/// A portal answer.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub set_cookies: Vec<String>,
    pub body: String,
}

/// Sends a request to the API and the portal of `app`.
pub async fn send(app: &TestApp, req: test::TestRequest) -> Page {
    let service = test::init_service(
        App::new()
            .app_data(web::Data::new(app.state.clone()))
            .configure(api_v1)
            .configure(portal::configure),
    )
    .await;
    let resp = test::call_service(&service, req.to_request()).await;
    let status = resp.status();
    let header = |name: &str| -> Vec<String> {
        resp.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    };
    let location = header("location").pop().unwrap_or_default();
    let set_cookies = header("set-cookie");
    let body = String::from_utf8_lossy(&test::read_body(resp).await).into_owned();
    Page {
        status,
        location,
        set_cookies,
        body,
    }
}

/// The value of `name=` in `html` (first match of `name="…" value="…"`).
pub fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!(r#"name="{name}" value=""#))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The value a `Set-Cookie` gives cookie `name`.
pub fn cookie_value(page: &Page, name: &str) -> Option<String> {
    page.set_cookies.iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// A signed-in browser, in-process.
pub struct Browser {
    /// `tw_session=…`.
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Browser {
    /// Signs `partner` in with an operator-issued link.
    pub async fn sign_in(app: &TestApp, partner: &str) -> Browser {
        let link = app
            .call(
                Method::POST,
                &format!("/api/v1/partners/{partner}/portal-link"),
                Some(OPERATOR),
                None,
            )
            .await;
        let path = link.body["path"].as_str().unwrap().to_owned();
        let token = path.split_once("token=").unwrap().1.to_owned();
        let session = redeem(app, &token).await;
        assert_eq!(session.status, StatusCode::SEE_OTHER, "{}", session.body);
        Browser::from_session(app, &session).await
    }

    /// The browser after a successful sign-in answer.
    pub async fn from_session(app: &TestApp, signed_in: &Page) -> Browser {
        let token = cookie_value(signed_in, "tw_session").expect("session cookie");
        let cookie = format!("tw_session={token}");
        let page = send(
            app,
            test::TestRequest::get()
                .uri("/portal/endpoints")
                .insert_header(("cookie", cookie.clone())),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = field(&page.body, "csrf").expect("csrf field");
        Browser { cookie, csrf }
    }

    /// `GET`.
    pub async fn get(&self, app: &TestApp, uri: &str) -> Page {
        send(
            app,
            test::TestRequest::get()
                .uri(uri)
                .insert_header(("cookie", self.cookie.clone())),
        )
        .await
    }

    /// `POST`s a form with the session's CSRF token.
    pub async fn post(&self, app: &TestApp, uri: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(app, uri, &all).await
    }

    /// `POST`s exactly `fields`.
    pub async fn post_raw(&self, app: &TestApp, uri: &str, fields: &[(&str, &str)]) -> Page {
        send(
            app,
            test::TestRequest::post()
                .uri(uri)
                .insert_header(("cookie", self.cookie.clone()))
                .set_form(fields),
        )
        .await
    }
}

/// Opens the sign-in page of link `token` and presses Continue.
pub async fn redeem(app: &TestApp, token: &str) -> Page {
    login(
        app,
        &format!("/portal/login?token={token}"),
        &[("token", token)],
    )
    .await
}

/// Opens `page`, then posts the sign-in form with `fields` and the sign-in
/// CSRF token, as a browser would.
pub async fn login(app: &TestApp, page: &str, fields: &[(&str, &str)]) -> Page {
    let shown = send(app, test::TestRequest::get().uri(page)).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let csrf = cookie_value(&shown, "tw_login").expect("sign-in CSRF cookie");
    assert_eq!(field(&shown.body, "login_csrf").as_deref(), Some(&*csrf));
    let mut all = vec![("login_csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    send(
        app,
        test::TestRequest::post()
            .uri("/portal/login")
            .insert_header(("cookie", format!("tw_login={csrf}")))
            .set_form(&all),
    )
    .await
}
