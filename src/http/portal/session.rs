//! Portal sessions: the cookie, the [`SignedIn`] extractor every page takes,
//! and [`Posted`], the extractor every form handler takes, which also checks
//! the form's CSRF token against the session's (synchronizer token). A form
//! handler cannot forget the check: without `Posted` it has no session.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use super::error::PortalError;
use crate::http::AppState;
use crate::store::portal::{self, Session};

/// The session cookie.
pub const SESSION_COOKIE: &str = "tw_session";
/// The cookie of the sign-in form's CSRF token (double submit: there is no
/// session yet to tie it to).
pub const LOGIN_COOKIE: &str = "tw_login";
/// How long a session lasts: a working day.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// The value of cookie `name`, if the request carries it.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Cookies are `Secure` unless the portal is reached over plain http on a
/// loopback address (local development), where a browser would not send
/// them back.
fn secure(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    if info.scheme() == "https" {
        return true;
    }
    let host = info.host();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    !(name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, scoped to `path`,
/// `Secure` as [`secure`] decides; a zero `max_age` deletes it.
pub fn set_cookie(req: &HttpRequest, name: &str, value: &str, path: &str, max_age: u64) -> String {
    let secure = if secure(req) { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// Compares two tokens without revealing, through timing, how much of a
/// guess was right.
pub fn same_token(given: &str, expected: &str) -> bool {
    !expected.is_empty() && Sha256::digest(given) == Sha256::digest(expected)
}

/// A request with a live session. Every query it makes is scoped to
/// `session.partner_id`.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// The cookie's token (to sign out).
    pub token: String,
}

impl SignedIn {
    /// The partner every query of the request is scoped to.
    pub fn partner(&self) -> &str {
        &self.session.partner_id
    }
}

impl FromRequest for SignedIn {
    type Error = PortalError;
    type Future = LocalBoxFuture<'static, Result<Self, PortalError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = cookie(req, SESSION_COOKIE);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                PortalError::Problem(crate::http::problem::Problem::internal(
                    "AppState is not registered",
                ))
            })?;
            let token = token.ok_or(PortalError::SignedOut)?;
            let client = state.pool.get().await?;
            let session = portal::session(&**client, &token)
                .await?
                .ok_or(PortalError::SignedOut)?;
            Ok(SignedIn { session, token })
        })
    }
}

/// The fields of a url-encoded form, in order (a field may repeat, like
/// checkboxes).
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, trimmed; `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The first value of `name` exactly as typed (a text whose spaces
    /// matter), with the browser's CRLF line ends back to LF; `""` when
    /// absent.
    pub fn raw(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(String::new, |(_, v)| v.replace("\r\n", "\n"))
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A form posted within a session, its CSRF token checked.
pub struct Posted {
    /// The session.
    pub signed: SignedIn,
    /// The fields.
    pub form: FormData,
}

impl FromRequest for Posted {
    type Error = PortalError;
    type Future = LocalBoxFuture<'static, Result<Self, PortalError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed = SignedIn::from_request(req, payload);
        let form = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        Box::pin(async move {
            let signed = signed.await?;
            let form = FormData(
                form.await
                    .map_err(|e| PortalError::BadForm(e.to_string()))?
                    .into_inner(),
            );
            if !same_token(form.get("csrf"), &signed.session.csrf_token) {
                return Err(PortalError::Csrf);
            }
            Ok(Posted { signed, form })
        })
    }
}
