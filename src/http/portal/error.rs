//! What goes wrong in the portal, as HTML pages. API problems (not found,
//! invalid field, unavailable, ...) keep their status and message; the
//! portal adds "signed out" (a redirect to sign-in) and "bad CSRF token".

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::html::{self, Esc, Nav};
use crate::http::problem::Problem;
use crate::store::StoreError;

/// A portal failure.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No valid session: go and sign in.
    #[error("sign in first")]
    SignedOut,
    /// A form without the session's CSRF token (or with another one).
    #[error(
        "this form has expired or did not come from this portal; reload the page and try again"
    )]
    Csrf,
    /// The form body could not be read.
    #[error("the form could not be read: {0}")]
    BadForm(String),
    /// Anything the API would answer with a problem document.
    #[error(transparent)]
    Problem(#[from] Problem),
}

impl From<StoreError> for PortalError {
    #[track_caller]
    fn from(e: StoreError) -> Self {
        PortalError::Problem(Problem::from(e))
    }
}

impl From<deadpool_postgres::PoolError> for PortalError {
    #[track_caller]
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PortalError::Problem(Problem::from(e))
    }
}

impl From<tokio_postgres::Error> for PortalError {
    #[track_caller]
    fn from(e: tokio_postgres::Error) -> Self {
        PortalError::Problem(Problem::from(e))
    }
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        match self {
            PortalError::SignedOut => StatusCode::SEE_OTHER,
            PortalError::Csrf => StatusCode::FORBIDDEN,
            PortalError::BadForm(_) => StatusCode::BAD_REQUEST,
            PortalError::Problem(p) => p.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PortalError::SignedOut = self {
            return html::see_other("/portal/login");
        }
        let status = self.status_code();
        let title = match self {
            PortalError::Csrf => "Form expired",
            PortalError::Problem(Problem::NotFound { .. }) => "Not found",
            PortalError::Problem(Problem::Unavailable) => "Temporarily unavailable",
            _ if status.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        let body = format!(
            r#"<h1>{title}</h1><div class="card"><p>{}</p><p><a href="/portal/endpoints">Back to your endpoints</a></p></div>"#,
            Esc(&self.to_string())
        );
        html::page(status, title, None, Nav::None, &body)
    }
}
