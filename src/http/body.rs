//! The JSON body extractor of the API: a size limit (413), a content type
//! (415), and deserialization errors that name the offending field (422), or
//! say where the JSON is broken (400).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Largest body any API route accepts. Endpoint definitions are the biggest
/// and fit in a few kilobytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            let is_json = content_type
                .as_deref()
                .is_some_and(|t| t == "application/json" || t.ends_with("+json"));
            if !is_json {
                return Err(Problem::UnsupportedMediaType);
            }
            if declared_length.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(Problem::TooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| Problem::MalformedBody(e.to_string()))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(Problem::TooLarge {
                        limit: MAX_BODY_BYTES,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

/// Deserializes `body`, naming the field at fault.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let field = if path == "." {
                    // Missing and unknown fields are reported at the parent;
                    // serde puts their name in backticks.
                    quoted_name(&message).unwrap_or_default()
                } else {
                    path
                };
                if field.is_empty() {
                    Problem::MalformedBody(format!("the body must be a JSON object: {message}"))
                } else {
                    Problem::invalid(field, message)
                }
            }
            _ => Problem::MalformedBody(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| Problem::MalformedBody(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde_json appends " at line 1 column 12"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn quoted_name(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct In {
        url: String,
        tags: Vec<u8>,
    }

    fn field_of(body: &str) -> String {
        match parse::<In>(body.as_bytes()) {
            Err(Problem::InvalidField { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn type_errors_name_the_nested_field() {
        assert_eq!(field_of(r#"{"url": "x", "tags": [1, "a"]}"#), "tags[1]");
        assert_eq!(field_of(r#"{"url": 5, "tags": []}"#), "url");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        assert_eq!(field_of(r#"{"tags": []}"#), "url");
        assert_eq!(field_of(r#"{"url": "x", "tags": [], "extra": 1}"#), "extra");
    }

    #[test]
    fn broken_json_is_a_malformed_body() {
        assert!(matches!(
            parse::<In>(b"{\"url\": "),
            Err(Problem::MalformedBody(_))
        ));
        assert!(matches!(
            parse::<In>(b"\"text\""),
            Err(Problem::MalformedBody(_))
        ));
    }
}
