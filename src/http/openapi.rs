//! `GET /api/v1/openapi.json`: the OpenAPI 3 description of the admin API,
//! kept in the repository as `openapi.json` and compiled in.
//!
//! The payload versions (`components.schemas.SchemaVersion`) are written by
//! the code when the spec is served: the served versions, the default, and
//! the deprecation and sunset dates the configuration gives. So a new version
//! or another `schema.v2_released` cannot leave the spec behind; a unit test
//! keeps the file's copy equal to what the default configuration serves.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::problem::Problem;
use super::AppState;
use crate::schema::{Lifecycle, SchemaVersion};

/// The spec as kept in the repository.
pub const SPEC: &str = include_str!("../../openapi.json");

/// Mounts the route (under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(serve));
}

async fn serve(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let spec = spec(&state.api.lifecycle).map_err(Problem::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(spec))
}

/// The spec with the payload versions of `lifecycle`.
pub fn spec(lifecycle: &Lifecycle) -> Result<String, serde_json::Error> {
    let mut spec: Value = serde_json::from_str(SPEC)?;
    spec["components"]["schemas"]["SchemaVersion"] = version_schema(lifecycle);
    serde_json::to_string_pretty(&spec)
}

/// `components.schemas.SchemaVersion`: every served version, the one a new
/// endpoint gets, and which are deprecated until when (`x-versions`).
pub fn version_schema(lifecycle: &Lifecycle) -> Value {
    let names: Vec<&str> = SchemaVersion::ALL.iter().map(|v| v.as_str()).collect();
    let versions: Vec<Value> = SchemaVersion::ALL
        .iter()
        .map(|&version| match lifecycle.deprecation(version) {
            Some(d) => json!({
                "name": version.as_str(),
                "deprecated": true,
                "deprecated_at": d.deprecated_at.format("%Y-%m-%d").to_string(),
                "sunset_at": d.sunset_at.format("%Y-%m-%d").to_string(),
            }),
            None => json!({ "name": version.as_str(), "deprecated": false }),
        })
        .collect();
    let deprecated: Vec<String> = versions
        .iter()
        .filter(|v| v["deprecated"] == true)
        .map(|v| {
            format!(
                "{} is deprecated since {} and served until {} (requests carry Deprecation and Sunset headers)",
                v["name"].as_str().unwrap_or_default(),
                v["deprecated_at"].as_str().unwrap_or_default(),
                v["sunset_at"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let default = SchemaVersion::default().as_str();
    let mut description = format!(
        "Payload version an endpoint is pinned to (schemas/<version>.json). A new endpoint gets {default}, the newest, unless it names another."
    );
    for line in &deprecated {
        description.push_str(&format!(" {line}."));
    }
    description.push_str(" PATCH /endpoints/{id} with schema_version moves an endpoint.");
    json!({
        "type": "string",
        "enum": names,
        "default": default,
        "description": description,
        "x-versions": versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_lifecycle() -> Lifecycle {
        let config = crate::config::load_from(None, std::iter::empty()).unwrap();
        Lifecycle::new(config.schema.v2_released)
    }

    #[test]
    fn the_file_lists_the_versions_the_default_configuration_serves() {
        let file: Value = serde_json::from_str(SPEC).unwrap();
        assert_eq!(
            file["components"]["schemas"]["SchemaVersion"],
            version_schema(&default_lifecycle()),
            "openapi.json's SchemaVersion is out of date"
        );
    }

    #[test]
    fn the_served_versions_follow_the_configured_release_date() {
        let released = chrono::NaiveDate::from_ymd_opt(2030, 3, 15).unwrap();
        let spec: Value = serde_json::from_str(&spec(&Lifecycle::new(released)).unwrap()).unwrap();
        let versions = spec["components"]["schemas"]["SchemaVersion"]["x-versions"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(versions[0]["sunset_at"], "2031-03-15");
        assert_eq!(versions.last().unwrap()["deprecated"], false);
    }
}
