//! Signing in and out.
//!
//! - `GET /portal/login?token=…`: the page an operator's sign-in link opens.
//!   It does not use the link up: it shows whom the link signs in and a
//!   button that posts it. Mail scanners and chat previews fetch links, and
//!   would otherwise burn a single-use link before its owner clicks it.
//! - `GET /portal/login`: the same page with an API key field.
//! - `POST /portal/login`: a link token or an API key → a session cookie.
//! - `POST /portal/logout`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::PortalError;
use super::html::{self, Esc, Nav};
use super::session::{
    cookie, same_token, set_cookie, FormData, Posted, LOGIN_COOKIE, SESSION_COOKIE, SESSION_TTL,
};
use crate::http::AppState;
use crate::store::{api_keys, portal};

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// A sign-in link's token.
    pub token: Option<String>,
}

/// The sign-in page.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PortalError> {
    let link = match query.token.as_deref().filter(|t| !t.is_empty()) {
        None => Link::None,
        Some(token) => {
            let client = state.pool.get().await?;
            match portal::peek_link(&**client, token).await? {
                Some((id, name)) => Link::Valid {
                    token: token.to_owned(),
                    partner: format!("{name} ({id})"),
                },
                None => Link::Invalid,
            }
        }
    };
    Ok(login_page(&req, StatusCode::OK, &link, None))
}

/// What the sign-in page knows about the link it was opened with.
enum Link {
    None,
    Invalid,
    Valid { token: String, partner: String },
}

/// Renders the sign-in page with a fresh sign-in CSRF token in a cookie and
/// in the forms.
fn login_page(
    req: &HttpRequest,
    status: StatusCode,
    link: &Link,
    error: Option<&str>,
) -> HttpResponse {
    let csrf = hex::encode(rand::random::<[u8; 16]>());
    let csrf_field = format!(r#"<input type="hidden" name="login_csrf" value="{csrf}">"#);
    let mut body = String::from("<h1>Sign in to the partner portal</h1>");
    if let Some(error) = error {
        body.push_str(&html::notice("bad", error));
    }
    match link {
        Link::Valid { token, partner } => body.push_str(&format!(
            r#"<div class="card"><p>This sign-in link is for <strong>{}</strong>. It works once.</p>
<form method="post" action="/portal/login">{csrf_field}<input type="hidden" name="token" value="{}">
<button id="continue">Continue to the portal</button></form></div>"#,
            Esc(partner),
            Esc(token)
        )),
        Link::Invalid => body.push_str(&html::notice(
            "warn",
            "This sign-in link has expired or was used already. Ask your trackwire contact \
             for a new one, or sign in with an API key below.",
        )),
        Link::None => {}
    }
    body.push_str(&format!(
        r#"<div class="card"><form method="post" action="/portal/login">{csrf_field}
<label for="api_key">API key</label>
<input type="password" id="api_key" name="api_key" autocomplete="off" placeholder="tw_live_…" required>
<button>Sign in</button></form>
<p class="muted small">Use the sign-in link or an API key your trackwire contact gave you.</p></div>"#
    ));
    let mut response = html::page(status, "Sign in", None, Nav::None, &body);
    if let Ok(value) =
        header::HeaderValue::from_str(&set_cookie(req, LOGIN_COOKIE, &csrf, "/portal/login", 3600))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Exchanges a link token or an API key for a session.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PortalError> {
    let form = FormData(form.into_inner());
    let expected = cookie(&req, LOGIN_COOKIE).unwrap_or_default();
    if !same_token(form.get("login_csrf"), &expected) {
        return Err(PortalError::Csrf);
    }
    let client = state.pool.get().await?;
    let token = form.get("token");
    let api_key = form.get("api_key");
    let signed_in = if !token.is_empty() {
        portal::redeem_link(&**client, token)
            .await?
            .map(|partner| (partner, None))
            .ok_or("This sign-in link has expired or was used already. Ask for a new one, or use an API key.")
    } else if !api_key.is_empty() {
        match api_keys::owner(&**client, api_key).await? {
            Some(owner) if owner.partner_status == "active" => {
                Ok((owner.partner_id, Some(owner.key_id)))
            }
            Some(_) => Err("This partner account is suspended."),
            None => Err("That API key is not valid."),
        }
    } else {
        Err("Enter an API key.")
    };
    let (partner_id, key_id) = match signed_in {
        Ok(found) => found,
        Err(message) => {
            return Ok(login_page(
                &req,
                StatusCode::UNAUTHORIZED,
                &Link::None,
                Some(message),
            ))
        }
    };
    let session =
        portal::open_session(&**client, &partner_id, key_id.as_deref(), SESSION_TTL).await?;
    let mut response = html::see_other("/portal/endpoints");
    for value in [
        set_cookie(
            &req,
            SESSION_COOKIE,
            &session,
            "/portal",
            SESSION_TTL.as_secs(),
        ),
        set_cookie(&req, LOGIN_COOKIE, "", "/portal/login", 0),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// Ends the session.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let client = state.pool.get().await?;
    portal::close_session(&**client, &posted.signed.token).await?;
    let mut response = html::see_other("/portal/login");
    if let Ok(value) =
        header::HeaderValue::from_str(&set_cookie(&req, SESSION_COOKIE, "", "/portal", 0))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
