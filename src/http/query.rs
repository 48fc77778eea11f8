//! Query parameters of the API, under one rule on every route: a parameter
//! the route does not take, a repeated one, or a bad value answers 422
//! naming the parameter.
//!
//! Routes that take parameters extract [`Query<T>`], where `T` holds strings
//! and denies unknown fields; each value is then parsed with a message that
//! names its parameter (no Rust type names). Every other route takes none:
//! [`refuse_unexpected`] runs before routing, so they need no extractor.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::body::{self, NUL_MESSAGE};
use super::problem::Problem;

/// Routes (as registered, with the `/api/v1` prefix) that extract a
/// [`Query`]; every other route refuses query parameters.
pub const ROUTES_WITH_PARAMETERS: &[&str] =
    &["/api/v1/events", "/api/v1/endpoints/{id}/rotate-secret"];

/// The query parameters of a request, as `T`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// Parses a query string into `T`.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let pairs = pairs(query)?;
    let object: Map<String, Value> = pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let json = serde_json::to_vec(&Value::Object(object)).map_err(Problem::internal)?;
    body::parse(&json).map_err(|problem| match problem {
        // serde's "unknown field `x`" and "missing field `x`" speak of
        // fields; these are parameters.
        Problem::InvalidField { field, message } => {
            Problem::invalid(field, message.replacen("field", "query parameter", 1))
        }
        other => other,
    })
}

/// The decoded parameters, each given once and free of NULs.
fn pairs(query: &str) -> Result<Vec<(String, String)>, Problem> {
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name.contains('\0') || value.contains('\0') {
            return Err(Problem::invalid(name.replace('\0', "\\0"), NUL_MESSAGE));
        }
        if !seen.insert(name.clone()) {
            return Err(Problem::invalid(name, "given more than once; give it once"));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// The problem with a request's path or query, before it reaches its route:
/// ids never hold a NUL (404 rather than a database error), and a route not
/// in [`ROUTES_WITH_PARAMETERS`] takes no query parameters.
pub fn refuse_unexpected(req: &HttpRequest) -> Option<Problem> {
    let path = req.uri().path();
    if path.to_ascii_lowercase().contains("%00") {
        return Some(Problem::not_found("resource", path));
    }
    let query = req.query_string();
    if query.is_empty() {
        return None;
    }
    // No route at all answers its own 404.
    let pattern = req.match_pattern()?;
    if ROUTES_WITH_PARAMETERS.contains(&pattern.as_str()) {
        return None;
    }
    let first = url::form_urlencoded::parse(query.as_bytes()).next()?;
    Some(Problem::invalid(
        first.0.replace('\0', "\\0"),
        "unknown query parameter: this route takes none",
    ))
}

/// A whole number parameter within `range`, `default` when absent.
pub fn whole_number(
    name: &str,
    raw: Option<&str>,
    range: RangeInclusive<i64>,
    default: i64,
) -> Result<i64, Problem> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(Problem::invalid(
            name,
            format!(
                "a whole number from {} to {}, not {raw:?}",
                range.start(),
                range.end()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<String>,
    }

    fn field_of(query: &str) -> String {
        match parse::<Params>(query) {
            Err(Problem::InvalidField { field, .. }) => field,
            other => panic!("{query}: expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn unknown_repeated_and_nul_parameters_are_named() {
        assert_eq!(field_of("colour=red"), "colour");
        assert_eq!(field_of("limit=1&limit=2"), "limit");
        assert_eq!(field_of("limit=%00"), "limit");
        assert!(parse::<Params>("limit=5").unwrap().limit.is_some());
        assert!(parse::<Params>("").unwrap().limit.is_none());
    }

    #[test]
    fn a_number_out_of_range_names_the_range() {
        let err = whole_number("limit", Some("0"), 1..=200, 50).unwrap_err();
        assert!(err.to_string().contains("from 1 to 200"), "{err}");
        assert_eq!(whole_number("limit", None, 1..=200, 50).unwrap(), 50);
        assert!(whole_number("limit", Some("abc"), 1..=200, 50).is_err());
    }
}
