//! Who is calling: an operator (the token from `http.operator_token`) or a
//! partner (one of its API keys), both as `Authorization: Bearer <secret>`.
//!
//! Handlers take [`Operator`] or [`Partner`] as an argument; a request
//! without the right credentials never reaches them. Everything a partner
//! handler reads or changes is scoped by [`Partner::id`].

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use super::problem::Problem;
use super::AppState;
use crate::store::api_keys::{self, KEY_PREFIX};

/// An authenticated operator.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

/// An authenticated partner, through one of its API keys.
#[derive(Debug, Clone)]
pub struct Partner {
    /// The partner every query of the request is scoped to.
    pub id: String,
}

/// The bearer token of a request, if any.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Compares digests rather than the strings, so the time taken does not
/// reveal how much of a guess was right.
fn is_operator_token(state: &AppState, token: &str) -> bool {
    state
        .api
        .operator_token
        .as_deref()
        .is_some_and(|expected| Sha256::digest(expected) == Sha256::digest(token))
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, Problem> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Problem::internal("AppState is not registered"))
}

impl FromRequest for Operator {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state_of(req)?;
            match bearer(req) {
                Some(token) if is_operator_token(&state, &token) => Ok(Operator),
                Some(token) if token.starts_with(KEY_PREFIX) => Err(Problem::Forbidden(
                    "this route is for operators; partner API keys cannot use it".to_owned(),
                )),
                _ => Err(Problem::Unauthenticated),
            }
        })())
    }
}

impl FromRequest for Partner {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state_of(req);
        let token = bearer(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(Problem::Unauthenticated)?;
            if !token.starts_with(KEY_PREFIX) {
                if is_operator_token(&state, &token) {
                    return Err(Problem::Forbidden(
                        "this route acts for one partner; use that partner's API key".to_owned(),
                    ));
                }
                return Err(Problem::Unauthenticated);
            }
            let client = state.pool.get().await?;
            match api_keys::owner(&**client, &token).await? {
                None => Err(Problem::Unauthenticated),
                Some(owner) if owner.partner_status != "active" => Err(Problem::Forbidden(
                    format!("partner {:?} is suspended", owner.partner_id),
                )),
                Some(owner) => Ok(Partner {
                    id: owner.partner_id,
                }),
            }
        })
    }
}
