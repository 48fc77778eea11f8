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

/// Deserializes `body`, naming the field at fault. The body must be a JSON
/// object (serde would take an array for a struct, field by position), and
/// no text in it may hold a NUL, which PostgreSQL cannot store.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Problem::MalformedBody(format!("the body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(object) = &value else {
        return Err(Problem::MalformedBody(format!(
            "the body must be a JSON object, not {}",
            kind_of(&value)
        )));
    };
    if let Some(field) = nul_field(object) {
        return Err(Problem::invalid(field, NUL_MESSAGE));
    }
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

/// What a field with a NUL character is told.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The path (`a.b[2]`, as serde_path_to_error writes it) of the first key
/// or string under `object` that holds a NUL.
fn nul_field(object: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    object.iter().find_map(|(key, value)| {
        if key.contains('\0') {
            return Some(key.clone());
        }
        nul_in(value).map(|rest| format!("{key}{rest}"))
    })
}

/// The rest of the path to a NUL inside `value` (`""` for `value` itself).
fn nul_in(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(String::new),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v).map(|rest| format!("[{i}]{rest}"))),
        serde_json::Value::Object(map) => nul_field(map).map(|path| format!(".{path}")),
        _ => None,
    }
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
    fn a_nul_is_named_wherever_it_is() {
        assert_eq!(field_of("{\"url\": \"a\\u0000\", \"tags\": []}"), "url");
        assert_eq!(
            nul_in(&serde_json::json!({"a": [1, {"b": "x\u{0}"}]})).as_deref(),
            Some(".a[1].b")
        );
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in ["[\"x\", [1]]", "null", "7"] {
            match parse::<In>(body.as_bytes()) {
                Err(Problem::MalformedBody(m)) => assert!(m.contains("JSON object"), "{m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
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
