//! The OpenAPI 3 description of the v1 API, served at `/api/v1/openapi.json`.
//!
//! [`v1_routes`] lists what the router really serves (it is built from the same table)
//! and [`documented_routes`] what this document describes; a test holds them equal.

use axum::{Json, Router, http::Method, routing::get};
use serde_json::{Value, json};

use crate::state::AppState;

const OPENAPI_PATH: &str = "/api/v1/openapi.json";

pub fn router() -> Router<AppState> {
    Router::new().route(OPENAPI_PATH, get(|| async { Json(document()) }))
}

/// Every v1 route the router serves, as (METHOD, path).
pub fn v1_routes() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = super::sessions::table()
        .into_iter()
        .chain(super::ops::table())
        .map(|(m, p, _)| (m.to_string(), p.to_owned()))
        .collect();
    routes.push((Method::GET.to_string(), OPENAPI_PATH.to_owned()));
    routes.sort();
    routes
}

/// Every (METHOD, path) the document describes.
pub fn documented_routes() -> Vec<(String, String)> {
    let doc = document();
    let mut routes = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            for method in ops.as_object().into_iter().flat_map(|o| o.keys()) {
                if method != "parameters" {
                    routes.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    routes.sort();
    routes
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn session(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Session" } } } })
}

pub fn document() -> Value {
    let id_param = json!([{ "name": "id", "in": "path", "required": true, "description": "Session id (UUID v4)", "schema": { "type": "string", "format": "uuid" } }]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "maplink",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Spreadsheets of map links in, coordinates out. Sessions slide on a TTL; errors are {error, code}."
        },
        "paths": {
            "/api/v1/sessions": {
                "post": {
                    "summary": "Upload a sheet (.xlsx or .csv) and create a session",
                    "requestBody": { "required": true, "content": { "multipart/form-data": { "schema": {
                        "type": "object", "required": ["file"], "properties": { "file": { "type": "string", "format": "binary" } } } } } },
                    "responses": {
                        "201": { "description": "Created, with a preview", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Created" } } } },
                        "400": error("Validation failed (no file, wrong type, unreadable, missing columns)"),
                        "413": error("Larger than the upload limit"),
                        "415": error("Not a multipart upload"),
                        "429": error("Too many uploads; see Retry-After")
                    }
                }
            },
            "/api/v1/sessions/{id}": {
                "parameters": id_param,
                "get": {
                    "summary": "Status, counts, progress, age and expiry (refreshes the session)",
                    "responses": { "200": session("The session"), "400": error("Malformed id"), "404": error("Unknown or expired") }
                },
                "delete": {
                    "summary": "Delete the session and its files",
                    "responses": { "204": { "description": "Deleted" }, "400": error("Malformed id"), "404": error("Unknown or expired") }
                }
            },
            "/api/v1/sessions/{id}/process": {
                "parameters": id_param,
                "post": {
                    "summary": "Queue the coordinates job",
                    "responses": {
                        "202": session("Queued"), "400": error("Malformed id"), "404": error("Unknown or expired"),
                        "409": error("Already queued or processing"), "429": error("Too many requests; see Retry-After"),
                        "503": error("The queue is unavailable")
                    }
                }
            },
            "/api/v1/sessions/{id}/download": {
                "parameters": id_param,
                "get": {
                    "summary": "The processed file, or only its failed or skipped rows",
                    "parameters": [{ "name": "rows", "in": "query", "schema": { "type": "string", "enum": ["all", "failed", "skipped"], "default": "all" } }],
                    "responses": {
                        "200": { "description": "The file (.xlsx or .csv, as uploaded)", "content": {
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } },
                            "text/csv": { "schema": { "type": "string" } } } },
                        "400": error("Malformed id or rows value"), "404": error("Unknown or expired"), "409": error("Not processed yet")
                    }
                }
            },
            "/api/v1/sessions/{id}/renew": {
                "parameters": id_param,
                "post": { "summary": "Refresh the session (new expires_at)", "responses": { "200": session("Renewed"), "400": error("Malformed id"), "404": error("Unknown or expired") } }
            },
            "/api/v1/sessions/{id}/events": {
                "parameters": id_param,
                "get": {
                    "summary": "Server-sent events of the session's runs: start, progress, log, complete, error",
                    "description": "Each event has an `id:` line; reconnect with Last-Event-ID (or ?after=) to resume without loss or repeats. The stream ends after a run's complete or error event.",
                    "parameters": [
                        { "name": "Last-Event-ID", "in": "header", "schema": { "type": "string" } },
                        { "name": "after", "in": "query", "schema": { "type": "string" } }
                    ],
                    "responses": { "200": { "description": "text/event-stream", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
                        "400": error("Malformed id"), "404": error("Unknown or expired") }
                }
            },
            "/api/v1/sessions/{id}/rows": {
                "parameters": id_param,
                "get": {
                    "summary": "The per-row log of the last run, filtered and paged",
                    "parameters": [
                        { "name": "status", "in": "query", "schema": { "type": "string", "enum": ["success", "failed", "skipped"] } },
                        { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "default": 0 } },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
                    ],
                    "responses": { "200": { "description": "A page of rows", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RowsPage" } } } },
                        "400": error("Malformed id or query"), "404": error("Unknown or expired"), "409": error("Not processed yet") }
                }
            },
            "/api/v1/ops/stats": {
                "get": {
                    "summary": "Operations snapshot: queue depth, live workers, sessions by status, throughput, cleanups, link resolution",
                    "description": "Needs `Authorization: Bearer <ops_token>` when an ops token is configured; closed (403) when submitter tokens are configured without one.",
                    "responses": { "200": { "description": "The snapshot the /ops dashboard renders", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "401": error("Missing or invalid ops token"), "403": error("Submitter tokens without an ops token: operator data is closed") }
                }
            },
            "/api/v1/openapi.json": {
                "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3 document", "content": { "application/json": {} } } } }
            }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["error", "code"], "properties": {
                "error": { "type": "string", "description": "For people" }, "code": { "type": "string", "description": "Stable, for scripts" } } },
            "Counts": { "type": "object", "properties": { "successful": { "type": "integer" }, "failed": { "type": "integer" }, "skipped": { "type": "integer" } } },
            "Session": { "type": "object", "properties": {
                "session_id": { "type": "string", "format": "uuid" }, "filename": { "type": "string" },
                "status": { "type": "string", "enum": ["uploaded", "queued", "processing", "completed", "failed"] },
                "map_column": { "type": "string" }, "total_rows": { "type": "integer" },
                "counts": { "$ref": "#/components/schemas/Counts" },
                "progress": { "type": "object", "properties": { "done": { "type": "integer" }, "total": { "type": "integer" }, "percent": { "type": "number" } } },
                "error": { "type": "string", "nullable": true }, "attempt": { "type": "integer" },
                "created_at": { "type": "string", "format": "date-time" }, "last_seen_at": { "type": "string", "format": "date-time" },
                "expires_at": { "type": "string", "format": "date-time" }, "age_s": { "type": "number" }, "ttl_remaining_s": { "type": "number" } } },
            "Created": { "allOf": [ { "$ref": "#/components/schemas/Session" }, { "type": "object", "properties": {
                "preview_columns": { "type": "array", "items": { "type": "string" } },
                "preview_data": { "type": "array", "items": { "type": "object" } } } } ] },
            "Row": { "type": "object", "properties": {
                "row": { "type": "integer" }, "name": { "type": "string" }, "status": { "type": "string", "enum": ["success", "failed", "skipped"] },
                "reason": { "type": "string", "nullable": true }, "lng": { "type": "number", "nullable": true }, "lat": { "type": "number", "nullable": true },
                "attempts": { "type": "integer" }, "method": { "type": "string", "nullable": true }, "link": { "type": "string" }, "message": { "type": "string" } } },
            "RowsPage": { "type": "object", "properties": {
                "total": { "type": "integer" }, "offset": { "type": "integer" }, "limit": { "type": "integer" },
                "rows": { "type": "array", "items": { "$ref": "#/components/schemas/Row" } } } }
        } }
    })
}
