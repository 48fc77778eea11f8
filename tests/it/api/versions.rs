//! Payload versions: the version a new endpoint gets through the API and the
//! CLI, moving an endpoint to another, and the spec's list of versions.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use trackwire::schema::{json_schema, SchemaVersion};

use super::{assert_problem, Receiver, Request, TestApp};

/// Asserts that `request` carries a payload of `version` that validates
/// against `schemas/<version>.json`.
pub fn assert_payload_of(request: &Request, version: SchemaVersion) {
    let (headers, body) = request;
    let body: Value = serde_json::from_slice(body).expect("a JSON payload");
    let schema: Value = serde_json::from_str(json_schema(version)).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "not a {version} payload: {errors:?}\n{body}"
    );
    let header = headers
        .iter()
        .find(|(k, _)| k == "webhook-schema-version")
        .map(|(_, v)| v.as_str());
    assert_eq!(header, Some(version.as_str()));
}

/// Polls until `receiver` has `n` requests, for up to 10 s.
async fn wait_for(receiver: &Receiver, n: usize) {
    for _ in 0..200 {
        if receiver.count() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} requests expected, {} arrived", receiver.count());
}

#[actix_web::test]
async fn an_endpoint_created_without_a_version_receives_v2_payloads() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    let created = app
        .create_endpoint(
            &key,
            json!({ "url": receiver.url, "event_types": ["delivered"] }),
        )
        .await;
    assert_eq!(created["schema_version"], "v2");

    app.event("acme", "delivered").await;
    app.reload_router().await;
    wait_for(&receiver, 1).await;
    let live = receiver.received.lock().unwrap()[0].clone();
    assert_payload_of(&live, SchemaVersion::V2);
    assert!(
        live.0
            .iter()
            .all(|(k, _)| k != "deprecation" && k != "sunset"),
        "the newest version is not deprecated: {:?}",
        live.0
    );
    receiver.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn an_endpoint_created_by_the_cli_without_a_version_receives_v2_payloads() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trackwire"))
        .args(["endpoint", "create", "--partner", "acme", "--url"])
        .arg(&receiver.url)
        .env_clear()
        .env("TRACKWIRE_DATABASE__URL", app.db_url())
        .env("TRACKWIRE_DELIVERY__ALLOW_INSECURE_HOSTS", "127.0.0.1")
        .output()
        .expect("run trackwire");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = app.get("/api/v1/endpoints", &key).await;
    let endpoint = &listed.body["items"][0];
    assert_eq!(endpoint["schema_version"], "v2", "{stdout}");

    let id = endpoint["id"].as_str().unwrap();
    let sent = app
        .post(&format!("/api/v1/endpoints/{id}/test"), &key, json!({}))
        .await;
    assert_eq!(sent.body["acknowledged"], true, "{}", sent.body);
    let test = receiver.received.lock().unwrap()[0].clone();
    assert_payload_of(&test, SchemaVersion::V2);
    receiver.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn patch_moves_an_endpoint_to_another_version_for_its_next_deliveries() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let key = app.partner("acme").await;
    let created = app
        .post(
            "/api/v1/endpoints",
            &key,
            json!({ "url": receiver.url, "event_types": ["delivered"], "schema_version": "v1" }),
        )
        .await;
    assert_eq!(created.body["schema_version"], "v1", "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/endpoints/{id}");
    let secrets_before = created.body["active_secrets"].clone();

    let moved = app
        .call(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({ "schema_version": "v2" })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["schema_version"], "v2");
    assert_eq!(moved.body["id"], id.as_str(), "the same endpoint");
    assert_eq!(moved.body["active_secrets"], secrets_before);
    assert_eq!(app.get(&path, &key).await.body["schema_version"], "v2");

    app.event("acme", "delivered").await;
    app.reload_router().await;
    wait_for(&receiver, 1).await;
    assert_payload_of(&receiver.received.lock().unwrap()[0], SchemaVersion::V2);

    let unknown = app
        .call(
            Method::PATCH,
            &path,
            Some(&key),
            Some(json!({ "schema_version": "v9" })),
        )
        .await;
    assert_problem(&unknown, 422, "invalid-field");
    assert_eq!(unknown.body["field"], "schema_version");
    assert!(
        unknown.body["detail"].as_str().unwrap().contains("v1, v2"),
        "{}",
        unknown.body
    );
    receiver.stop().await;
    app.cleanup().await;
}

/// Every `schema_version` property anywhere under `value`, with its path.
fn version_properties<'a>(value: &'a Value, path: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "schema_version" {
                    found.push((path.clone(), v));
                }
                version_properties(v, format!("{path}/{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                version_properties(v, format!("{path}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[actix_web::test]
async fn the_spec_lists_the_served_versions_wherever_a_version_is_read_or_returned() {
    let app = TestApp::spawn().await;
    let spec = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let versions = &spec["components"]["schemas"]["SchemaVersion"];
    let served: Vec<&str> = SchemaVersion::ALL.iter().map(|v| v.as_str()).collect();
    assert_eq!(versions["enum"], json!(served));
    assert_eq!(versions["default"], SchemaVersion::default().as_str());

    let mut found = Vec::new();
    version_properties(&spec["components"]["schemas"], String::new(), &mut found);
    let places: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    for schema in ["EndpointIn", "EndpointPatch", "Endpoint"] {
        assert!(
            places.contains(&format!("/{schema}/properties").as_str()),
            "{schema} has no schema_version: {places:?}"
        );
    }
    for (path, property) in &found {
        assert_eq!(
            property["$ref"], "#/components/schemas/SchemaVersion",
            "{path}"
        );
    }

    let listed = versions["x-versions"].as_array().unwrap();
    let names: Vec<&str> = listed.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, served);
    for (entry, &version) in listed.iter().zip(SchemaVersion::ALL) {
        match app.state.api.lifecycle.deprecation(version) {
            Some(d) => {
                assert_eq!(entry["deprecated"], true, "{entry}");
                let sunset = d.sunset_at.format("%Y-%m-%d").to_string();
                assert_eq!(entry["sunset_at"], sunset.as_str());
                assert!(versions["description"].as_str().unwrap().contains(&sunset));
            }
            None => assert_eq!(entry["deprecated"], false, "{entry}"),
        }
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn the_database_default_version_is_the_code_default() {
    let app = TestApp::spawn().await;
    let client = app.state.pool.get().await.unwrap();
    let default: String = client
        .query_one(
            "SELECT column_default FROM information_schema.columns
             WHERE table_name = 'endpoints' AND column_name = 'schema_version'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        default,
        format!("'{}'::text", SchemaVersion::default()),
        "a migration must move the column default with SchemaVersion::LATEST"
    );
    drop(client);
    app.cleanup().await;
}
