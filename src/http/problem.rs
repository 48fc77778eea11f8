//! Every API error as an RFC 7807 problem document, mapped to HTTP in this
//! one place.
//!
//! Each variant has a stable `type` (`urn:trackwire:problem:<id>`) that
//! clients can branch on; `id` is an exhaustive match, so a new variant does
//! not compile without one. Infrastructure failures answer an opaque 500 or
//! 503 and are logged with their cause; bad input never reaches those.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::store::StoreError;

/// `content-type` of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// No credentials, or credentials that match nothing.
    #[error("a valid API key or operator token is required (Authorization: Bearer ...)")]
    Unauthenticated,
    /// Valid credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing with this id, as far as the caller may know.
    #[error("{kind} {id:?} does not exist")]
    NotFound {
        /// What was looked for (`endpoint`, `event`, ...).
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// No such route.
    #[error("no such route")]
    NoRoute,
    /// The body is not JSON, or not an object of the expected shape.
    #[error("{0}")]
    MalformedBody(String),
    /// A field (of the body or the query) has a value that is not accepted.
    #[error("{field}: {message}")]
    InvalidField {
        /// Path of the field, e.g. `url` or `event_types[2]`.
        field: String,
        /// Why.
        message: String,
    },
    /// The body is larger than the route accepts.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not `application/json`.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The partner has the maximum number of endpoints.
    #[error("a partner can register at most {max} endpoints; delete one first")]
    EndpointLimit {
        /// The maximum.
        max: usize,
    },
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The database is unreachable or overloaded; try again.
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
    /// A bug or an unexpected failure; the detail is in the logs only.
    #[error("internal error")]
    Internal,
}

impl Problem {
    /// The stable part of the `type` URI.
    pub fn id(&self) -> &'static str {
        match self {
            Problem::Unauthenticated => "unauthenticated",
            Problem::Forbidden(_) => "forbidden",
            Problem::NotFound { .. } => "not-found",
            Problem::NoRoute => "no-route",
            Problem::MalformedBody(_) => "malformed-body",
            Problem::InvalidField { .. } => "invalid-field",
            Problem::TooLarge { .. } => "body-too-large",
            Problem::UnsupportedMediaType => "unsupported-media-type",
            Problem::EndpointLimit { .. } => "endpoint-limit",
            Problem::Conflict(_) => "conflict",
            Problem::Unavailable => "unavailable",
            Problem::Internal => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Problem::Unauthenticated => "Authentication required",
            Problem::Forbidden(_) => "Not allowed",
            Problem::NotFound { .. } | Problem::NoRoute => "Not found",
            Problem::MalformedBody(_) => "Malformed request body",
            Problem::InvalidField { .. } => "Invalid value",
            Problem::TooLarge { .. } => "Request body too large",
            Problem::UnsupportedMediaType => "Unsupported media type",
            Problem::EndpointLimit { .. } => "Endpoint limit reached",
            Problem::Conflict(_) => "Conflict",
            Problem::Unavailable => "Service unavailable",
            Problem::Internal => "Internal error",
        }
    }

    /// A 404 for `kind` `id`.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Problem::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Logs an unexpected error and hides it behind a 500.
    #[track_caller]
    pub fn internal(error: impl std::fmt::Display) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(%error, location = %at, "request failed");
        Problem::Internal
    }
}

/// The document's body.
#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        match self {
            Problem::Unauthenticated => StatusCode::UNAUTHORIZED,
            Problem::Forbidden(_) => StatusCode::FORBIDDEN,
            Problem::NotFound { .. } | Problem::NoRoute => StatusCode::NOT_FOUND,
            Problem::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Problem::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Problem::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::EndpointLimit { .. } | Problem::Conflict(_) => StatusCode::CONFLICT,
            Problem::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let field = match self {
            Problem::InvalidField { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let document = Document {
            kind: format!("urn:trackwire:problem:{}", self.id()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            field,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            Problem::Unauthenticated => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Problem::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        // Serializing this struct cannot fail; an empty body is the fallback
        // all the same, never a panic.
        response.body(serde_json::to_vec(&document).unwrap_or_default())
    }
}

impl From<StoreError> for Problem {
    #[track_caller]
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownPartner(id) => Problem::not_found("partner", id),
            StoreError::UnknownEndpoint(id) => Problem::not_found("endpoint", id),
            StoreError::EndpointLimit(_) => Problem::EndpointLimit {
                max: crate::store::endpoints::MAX_PER_PARTNER,
            },
            StoreError::PartnerExists(id) => {
                Problem::Conflict(format!("partner {id:?} already exists"))
            }
            // Every text input is checked for NULs; should one slip through,
            // it is still the caller's input, not a server failure.
            StoreError::Db(e)
                if e.code()
                    == Some(&tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE) =>
            {
                Problem::MalformedBody(format!("text {}", super::body::NUL_MESSAGE))
            }
            e if e.is_transient() => {
                tracing::warn!(error = %e, "database unavailable");
                Problem::Unavailable
            }
            e => Problem::internal(e),
        }
    }
}

impl From<deadpool_postgres::PoolError> for Problem {
    #[track_caller]
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Problem::from(StoreError::from(error))
    }
}

impl From<tokio_postgres::Error> for Problem {
    #[track_caller]
    fn from(error: tokio_postgres::Error) -> Self {
        Problem::from(StoreError::from(error))
    }
}
