//! The OpenAPI 3 description of the v1 API, served at `/api/v1/openapi.json`.
//!
//! [`v1_routes`] lists what the router really serves (it is built from the same table)
//! and [`documented_routes`] what this document describes; a test holds them equal.

use axum::{Json, Router, http::Method, routing::get};
use maplink::domain::{provenance, reason_code};
use serde_json::{Value, json};

use crate::state::AppState;

const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// A hyphenated UUID of version 4, in either case: the only ids the API looks up
/// (anything else is a 400 before any lookup).
const SESSION_ID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

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

/// An `enum` for a nullable string: OpenAPI 3.0 admits `null` only when the list has it.
fn nullable_enum(values: Vec<String>) -> Value {
    values
        .into_iter()
        .map(Value::String)
        .chain([Value::Null])
        .collect()
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// An error that says when to try again: 429 and 503 always carry `Retry-After`.
fn retry_later(description: &str) -> Value {
    let mut response = error(description);
    response["headers"] = json!({ "Retry-After": { "$ref": "#/components/headers/Retry-After" } });
    response
}

/// 401 with `WWW-Authenticate: Bearer`.
fn unauthorized(description: &str) -> Value {
    let mut response = error(description);
    response["headers"] =
        json!({ "WWW-Authenticate": { "$ref": "#/components/headers/WWW-Authenticate" } });
    response
}

fn session(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Session" } } } })
}

/// What a client does next with a session it was given: every operation on `{id}`.
fn session_links() -> Value {
    let ops = [
        ("GetSession", "getSession"),
        ("ProcessSession", "processSession"),
        ("RenewSession", "renewSession"),
        ("SessionEvents", "sessionEvents"),
        ("SessionRows", "sessionRows"),
        ("DownloadSession", "downloadSession"),
        ("DeleteSession", "deleteSession"),
    ];
    ops.into_iter()
        .map(|(name, op)| {
            (
                name.to_owned(),
                json!({ "operationId": op, "parameters": { "id": "$response.body#/session_id" } }),
            )
        })
        .collect()
}

/// The answers every route on an existing session may give besides its own: a
/// malformed id, a missing token, an unknown id, an unreachable store.
fn session_errors(mut responses: Value) -> Value {
    let common = json!({
        "400": error("Malformed id (`invalid_session_id`)"),
        "401": unauthorized("Missing or invalid access token (`unauthorized`; only when submitter tokens are configured)"),
        "404": error("Unknown or expired (`session_not_found`, `session_expired`), or another token's session"),
        "503": retry_later("The store is unreachable (`unavailable`)")
    });
    for (status, response) in common.as_object().into_iter().flatten() {
        if responses.get(status).is_none() {
            responses[status] = response.clone();
        }
    }
    responses
}

/// The answers every gated ops route may give besides its own: no or a wrong ops token,
/// operator data closed or local only, an unreachable store.
fn ops_errors(mut responses: Value) -> Value {
    let common = json!({
        "401": unauthorized("Missing or invalid ops token (`unauthorized`)"),
        "403": error(OPS_FORBIDDEN),
        "503": retry_later("The store or the queue is unreachable (`unavailable`)")
    });
    for (status, response) in common.as_object().into_iter().flatten() {
        if responses.get(status).is_none() {
            responses[status] = response.clone();
        }
    }
    responses
}

const OPS_FORBIDDEN: &str = "Operator data is closed (submitter tokens without an ops token), or no ops token is set and the client is not on this machine (`forbidden`)";
const OPS_ACTION_FORBIDDEN: &str = "Operator data is closed or local only (`forbidden`), or the request came from another site's page (`cross_site`)";

/// The answers every operator action (POST, DELETE) may give besides a read's: sent
/// from another site, or without a JSON content type.
fn ops_action_errors(responses: Value) -> Value {
    let mut responses = ops_errors(responses);
    responses["403"] = error(OPS_ACTION_FORBIDDEN);
    responses["415"] = error(
        "Without the JSON content type (application/json), which a plain form cannot send (`unsupported_media_type`)",
    );
    responses
}

/// The operators' routes, behind the ops gate: the stats snapshot and the dead list.
fn ops_paths() -> Value {
    let task_id_param = json!([{ "name": "task_id", "in": "path", "required": true, "description": "A dead job's task id, as the listing gives it", "schema": { "type": "string" } }]);
    let ops_auth = "Needs `Authorization: Bearer <ops_token>` when an ops token is configured; without one, answered only to clients on the service's own machine (loopback), and closed (403) when submitter tokens are configured. Actions (POST, DELETE) also need `Content-Type: application/json` and are refused when sent from another site's page.";
    json!({
        "/api/v1/ops/stats": {
            "get": {
                "operationId": "opsStats",
                "summary": "Operations snapshot: queue depth and wait, live workers, sessions by status, throughput, cleanups, link resolution",
                "description": ops_auth,
                "security": [{}, { "opsToken": [] }],
                "responses": { "200": { "description": "The snapshot the /ops dashboard renders", "content": { "application/json": { "schema": { "type": "object", "properties": {
                        "queue": { "type": "object", "description": "Jobs by state, and how long the oldest pending job has waited; `{error}` when the queue is unreachable", "properties": {
                            "pending": { "type": "integer", "minimum": 0 }, "scheduled": { "type": "integer", "minimum": 0 }, "running": { "type": "integer", "minimum": 0 },
                            "done": { "type": "integer", "minimum": 0 }, "dead": { "type": "integer", "minimum": 0 },
                            "oldest_pending_seconds": { "type": "number", "minimum": 0, "description": "0 when nothing waits" },
                            "error": { "type": "string" } } } } } } } },
                    "401": unauthorized("Missing or invalid ops token (`unauthorized`)"), "403": error(OPS_FORBIDDEN) }
            }
        },
        "/api/v1/ops/dead-jobs": {
            "get": {
                "operationId": "listDeadJobs",
                "summary": "Jobs given up (attempts used up, or a payload that does not decode), newest first",
                "description": ops_auth,
                "security": [{}, { "opsToken": [] }],
                "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }],
                "responses": ops_errors(json!({
                    "200": { "description": "The newest dead jobs, and how many there are", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/DeadJobs" } } } },
                    "400": error("limit is not a whole number (`invalid_query`)")
                }))
            },
            "delete": {
                "operationId": "deleteDeadJobs",
                "summary": "Delete the newest 1,000 dead jobs",
                "description": ops_auth,
                "security": [{}, { "opsToken": [] }],
                "responses": ops_action_errors(json!({
                    "200": { "description": "How many were deleted", "content": { "application/json": { "schema": { "type": "object", "required": ["deleted"], "properties": {
                        "deleted": { "type": "integer", "minimum": 0 } } } } } }
                }))
            }
        },
        "/api/v1/ops/dead-jobs/retry": {
            "post": {
                "operationId": "retryDeadJobs",
                "summary": "Retry the newest 1,000 dead jobs: each starts a new run of its session",
                "description": ops_auth,
                "security": [{}, { "opsToken": [] }],
                "responses": ops_action_errors(json!({
                    "200": { "description": "How many were queued, and which were left with the reason (`not_retryable`, `retries_exhausted`, `session_gone`, `session_busy`, `dead_job_not_found`, and `rate_limited` once each run started has used up the caller's processing limit)",
                        "content": { "application/json": { "schema": { "type": "object", "required": ["retried", "skipped"], "properties": {
                            "retried": { "type": "integer", "minimum": 0 },
                            "skipped": { "type": "array", "items": { "type": "object", "required": ["task_id", "code"], "properties": {
                                "task_id": { "type": "string" }, "code": { "type": "string" } } } } } } } } }
                }))
            }
        },
        "/api/v1/ops/dead-jobs/{task_id}/retry": {
            "parameters": task_id_param,
            "post": {
                "operationId": "retryDeadJob",
                "summary": "Retry a dead job: start a new run of its session (new task id) in the dead job's place",
                "description": ops_auth,
                "security": [{}, { "opsToken": [] }],
                "responses": ops_action_errors(json!({
                    "202": { "description": "Queued", "content": { "application/json": { "schema": { "type": "object", "required": ["task_id", "session", "status"], "properties": {
                        "task_id": { "type": "string", "description": "The new run's task id" }, "session": { "type": "string", "pattern": "^[0-9a-f]{12}$", "description": "The session's handle" },
                        "status": { "type": "string", "enum": ["queued"] } } } } } },
                    "404": error("No dead job has this task id (`dead_job_not_found`)"),
                    "409": error("The payload does not decode (`not_retryable`), the session was retried from the dead list 3 times already (`retries_exhausted`), the session expired or was deleted (`session_gone`), or it is queued or processing (`session_busy`)"),
                    "429": retry_later("Too many processing requests: a retry counts as one (`rate_limited`)")
                }))
            }
        },
        "/api/v1/ops/dead-jobs/{task_id}": {
            "parameters": task_id_param,
            "delete": {
                "operationId": "deleteDeadJob",
                "summary": "Delete a dead job",
                "description": ops_auth,
                "security": [{}, { "opsToken": [] }],
                "responses": ops_action_errors(json!({
                    "204": { "description": "Deleted" },
                    "404": error("No dead job has this task id (`dead_job_not_found`)")
                }))
            }
        }
    })
}

pub fn document() -> Value {
    let id_param = json!([{ "name": "id", "in": "path", "required": true, "description": "Session id (UUID v4)", "schema": { "type": "string", "format": "uuid", "pattern": SESSION_ID_PATTERN } }]);
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "maplink",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Spreadsheets of map links in, coordinates out. Sessions slide on a TTL; errors are {error, code}."
        },
        // Open unless submitter tokens are configured; then every session route needs one.
        "security": [{}, { "submitterToken": [] }],
        "paths": {
            "/api/v1/sessions": {
                "post": {
                    "operationId": "createSession",
                    "summary": "Upload a sheet (.xlsx or .csv) and create a session",
                    "requestBody": { "required": true, "content": { "multipart/form-data": {
                        "schema": { "type": "object", "required": ["file"], "properties": {
                            "file": { "type": "string", "format": "binary", "description": "The sheet; the part's file name must end in .xlsx or .csv" } } },
                        // The file name, not the part's content type, says how the file is read.
                        "encoding": { "file": { "headers": { "Content-Disposition": {
                            "description": "Carries the file name",
                            "schema": { "type": "string" },
                            "example": "form-data; name=\"file\"; filename=\"stores.csv\"" } } } },
                        "example": { "file": "Name,Region,Maps link\nSandton City Mall,Gauteng,\"https://maps.google.com/?q=-26.1076,28.0567\"\nCape Town CBD,Western Cape,\"https://www.google.com/maps/@-33.9249,18.4241,15z\"\n" } } } },
                    "responses": {
                        "201": { "description": "Created, with a preview", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Created" } } },
                            "links": session_links() },
                        "400": error("Validation failed: no file part (`no_file`), no file name (`no_file_selected`), a name ending in neither .xlsx nor .csv (`unsupported_file_type`), not a readable sheet (`unreadable_file`), missing columns (`missing_columns`), a malformed multipart body (`bad_multipart`)"),
                        "401": unauthorized("Missing or invalid access token (`unauthorized`; only when submitter tokens are configured)"),
                        "408": error("The upload arrived too slowly (`request_timeout`)"),
                        "413": error("Larger than the upload limit (`payload_too_large`), or more rows, columns, cells or text than a sheet may hold (`sheet_too_large`)"),
                        "415": error("Not a multipart upload (`unsupported_media_type`)"),
                        "429": retry_later("Too many uploads (`rate_limited`), or too many uploads from this client at once (`too_many_uploads`)"),
                        "503": retry_later("Busy reading other uploads (`busy`), holding as many sessions or bytes as allowed (`storage_full`), or the store is unreachable (`unavailable`)")
                    }
                }
            },
            "/api/v1/sessions/{id}": {
                "parameters": id_param,
                "get": {
                    "operationId": "getSession",
                    "summary": "Status, counts, progress, age and expiry (refreshes the session)",
                    "responses": session_errors(json!({ "200": session("The session") }))
                },
                "delete": {
                    "operationId": "deleteSession",
                    "summary": "Delete the session and its files",
                    "responses": session_errors(json!({ "204": { "description": "Deleted" } }))
                }
            },
            "/api/v1/sessions/{id}/process": {
                "parameters": id_param,
                "post": {
                    "operationId": "processSession",
                    "summary": "Queue the coordinates job",
                    "parameters": [{ "name": "details", "in": "query", "description": "Add the `Source`, `Precision` and `Check` columns to the output sheet, after the output columns", "schema": { "type": "boolean", "default": false } }],
                    "responses": session_errors(json!({
                        "202": session("Queued"),
                        "400": error("Malformed id (`invalid_session_id`), or details is not true or false (`invalid_query`)"),
                        "409": error("Already queued or processing (`already_processing`)"), "429": retry_later("Too many processing requests (`rate_limited`)"),
                        "503": retry_later("The store or the queue is unreachable (`unavailable`)")
                    }))
                }
            },
            "/api/v1/sessions/{id}/download": {
                "parameters": id_param,
                "get": {
                    "operationId": "downloadSession",
                    "summary": "The processed file, only its failed or skipped rows, or its located rows as GeoJSON, KML or GPX",
                    "description": "Without `format`, the processed sheet (.xlsx or .csv, as uploaded). With `format`, the rows that have coordinates as map data: `geojson` (RFC 7946 FeatureCollection of Points, `[longitude, latitude]`; each Feature's `id` is its data row and its properties are every sheet column followed by `row`, `status`, `source`, `precision_m`, `approximate` and `check` — prefixed `maplink_` where the sheet has a column of that name; the foreign member `maplink` holds `located_rows`, `unlocated_rows`, the sheet's name/region/link/comment columns and the key of each field), `kml` (a Placemark per row named from the Name column, every column in ExtendedData) or `gpx` (GPX 1.1 waypoints). Rows without coordinates are left out and counted in the `Maplink-Unlocated-Rows` header and in the file.",
                    "parameters": [
                        { "name": "rows", "in": "query", "schema": { "type": "string", "enum": ["all", "failed", "skipped"], "default": "all" } },
                        { "name": "format", "in": "query", "description": "Export the located rows instead of the sheet (only with rows=all)", "schema": { "type": "string", "enum": ["geojson", "kml", "gpx"] } }
                    ],
                    "responses": session_errors(json!({
                        "200": { "description": "The file: the sheet as uploaded, or the export",
                            "headers": {
                                "Content-Disposition": { "description": "attachment; filename=\"processed_<name>\" (with .geojson, .kml or .gpx for an export), and the original name in filename*", "required": true, "schema": { "type": "string" } },
                                "Maplink-Unlocated-Rows": { "description": "Exports only: rows of the run left out for having no coordinates", "schema": { "type": "integer", "minimum": 0 } }
                            },
                            "content": {
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } },
                            "text/csv": { "schema": { "type": "string" } },
                            "application/geo+json": { "schema": { "type": "object", "required": ["type", "features"], "properties": { "type": { "type": "string", "enum": ["FeatureCollection"] }, "features": { "type": "array", "items": { "type": "object" } } } } },
                            "application/vnd.google-earth.kml+xml": { "schema": { "type": "string" } },
                            "application/gpx+xml": { "schema": { "type": "string" } } } },
                        "400": error("Malformed id (`invalid_session_id`), rows or format value (`invalid_rows`, `invalid_format`), or rows other than all with a format (`invalid_query`)"), "409": error("Not processed yet (`not_processed`)")
                    }))
                }
            },
            "/api/v1/sessions/{id}/renew": {
                "parameters": id_param,
                "post": {
                    "operationId": "renewSession",
                    "summary": "Refresh the session (new expires_at)",
                    "responses": session_errors(json!({ "200": session("Renewed") }))
                }
            },
            "/api/v1/sessions/{id}/events": {
                "parameters": id_param,
                "get": {
                    "operationId": "sessionEvents",
                    "summary": "Server-sent events of the session's runs: start, progress, log, complete, error",
                    "description": "Each event has an `id:` line; reconnect with Last-Event-ID (or ?after=) to resume without loss or repeats. While a run is queued or processing the stream follows it to its complete or error event, then ends; with no run active it sends what the log holds after the given id and ends. Every stream ends after `event_stream_max_secs` (reconnect to resume). A client may hold `max_event_streams_per_client` streams open at once (429 beyond), a process `max_event_streams` (503 `streams_full` beyond). The response schema describes one event.",
                    // EventSource cannot send headers: the token may come in the URL here.
                    "security": [{}, { "submitterToken": [] }, { "accessTokenQuery": [] }],
                    "parameters": [
                        { "name": "Last-Event-ID", "in": "header", "schema": { "type": "string" } },
                        { "name": "after", "in": "query", "schema": { "type": "string" } }
                    ],
                    "responses": session_errors(json!({
                        "200": { "description": "A stream of events", "content": { "text/event-stream": { "schema": { "$ref": "#/components/schemas/Event" } } } },
                        "429": retry_later("Too many open event streams from this client (`too_many_streams`)"),
                        "503": retry_later("The store is unreachable (`unavailable`), or the process follows as many streams as it may (`streams_full`)")
                    }))
                }
            },
            "/api/v1/sessions/{id}/rows": {
                "parameters": id_param,
                "get": {
                    "operationId": "sessionRows",
                    "summary": "The per-row log of the last run, filtered and paged",
                    "parameters": [
                        { "name": "status", "in": "query", "schema": { "type": "string", "enum": ["success", "failed", "skipped"] } },
                        { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "default": 0 } },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
                    ],
                    "responses": session_errors(json!({
                        "200": { "description": "A page of rows", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RowsPage" } } } },
                        "400": error("Malformed id (`invalid_session_id`) or query (`invalid_query`)"), "409": error("Not processed yet (`not_processed`)")
                    }))
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapiDocument",
                    "summary": "This document",
                    "security": [],
                    "responses": { "200": { "description": "OpenAPI 3 document", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "submitterToken": { "type": "http", "scheme": "bearer", "description": "One of `submitter_tokens`; each token sees only its own sessions" },
                "accessTokenQuery": { "type": "apiKey", "in": "query", "name": "access_token", "description": "A submitter token in the URL, accepted by the event streams only" },
                "opsToken": { "type": "http", "scheme": "bearer", "description": "The `ops_token`" }
            },
            "headers": {
                "Retry-After": { "description": "Seconds to wait before trying again", "required": true, "schema": { "type": "integer", "minimum": 1 } },
                "WWW-Authenticate": { "description": "Bearer", "required": true, "schema": { "type": "string" } }
            },
            "schemas": {
            "Error": { "type": "object", "required": ["error", "code"], "properties": {
                "error": { "type": "string", "description": "For people" },
                "code": { "type": "string", "description": "Stable, for scripts. Each response names the codes it may carry; any request may also be answered `not_found` (404: no such route), `method_not_allowed` (405) or `internal` (500: a fault of the service, whose cause is logged and never sent)." },
                "expired_at": { "type": "string", "format": "date-time", "description": "With `session_expired`: when it expired" },
                "idle_minutes": { "type": "number", "description": "With `session_expired`: how long it had been idle" } } },
            "Counts": { "type": "object", "required": ["successful", "failed", "skipped"], "properties": {
                "successful": { "type": "integer", "minimum": 0 }, "failed": { "type": "integer", "minimum": 0 }, "skipped": { "type": "integer", "minimum": 0 } } },
            "Session": { "type": "object",
                "required": ["session_id", "filename", "status", "map_column", "total_rows", "counts", "progress", "error", "attempt",
                    "created_at", "last_seen_at", "expires_at", "age_s", "ttl_remaining_s"],
                "properties": {
                "session_id": { "type": "string", "format": "uuid" }, "filename": { "type": "string" },
                "status": { "type": "string", "enum": ["uploaded", "queued", "processing", "completed", "failed"] },
                "map_column": { "type": "string" }, "total_rows": { "type": "integer", "minimum": 0 },
                "counts": { "$ref": "#/components/schemas/Counts" },
                "progress": { "type": "object", "required": ["done", "total", "percent"], "properties": {
                    "done": { "type": "integer", "minimum": 0 }, "total": { "type": "integer", "minimum": 0 }, "percent": { "type": "number", "minimum": 0, "maximum": 100 } } },
                "error": { "type": "string", "nullable": true }, "attempt": { "type": "integer", "minimum": 0 },
                "created_at": { "type": "string", "format": "date-time" }, "last_seen_at": { "type": "string", "format": "date-time" },
                "expires_at": { "type": "string", "format": "date-time" }, "age_s": { "type": "number" }, "ttl_remaining_s": { "type": "number" } } },
            "Created": { "allOf": [ { "$ref": "#/components/schemas/Session" }, { "type": "object", "required": ["preview_columns", "preview_data"], "properties": {
                "preview_columns": { "type": "array", "items": { "type": "string" } },
                "preview_data": { "type": "array", "items": { "type": "object", "additionalProperties": {
                    "description": "The cell as read: text, a number or a boolean; null when blank",
                    "nullable": true, "anyOf": [{ "type": "string" }, { "type": "number" }, { "type": "boolean" }] } } } } } ] },
            "Row": { "type": "object", "required": ["row", "name", "status", "reason", "lng", "lat", "attempts", "method", "link", "message",
                    "code", "source", "precision_m", "approximate", "check"], "properties": {
                "row": { "type": "integer", "minimum": 1 }, "name": { "type": "string" }, "status": { "type": "string", "enum": ["success", "failed", "skipped"] },
                "reason": { "type": "string", "nullable": true }, "lng": { "type": "number", "nullable": true }, "lat": { "type": "number", "nullable": true },
                "attempts": { "type": "integer", "minimum": 0 }, "method": { "type": "string", "nullable": true }, "link": { "type": "string" }, "message": { "type": "string" },
                "code": { "type": "string", "nullable": true, "enum": nullable_enum(reason_code::all().map(str::to_owned).collect()),
                    "description": "Stable code of the reason a row failed or was skipped (the README's reasons table); null on success" },
                "source": { "type": "string", "nullable": true, "enum": nullable_enum(provenance::all()),
                    "description": "How the point was found; null unless the row succeeded" },
                "precision_m": { "type": "number", "nullable": true, "minimum": 0, "description": "How precise the point is, in metres (two significant figures), where its form implies one" },
                "approximate": { "type": "boolean", "description": "The point is a map's viewport centre, which may be far from the place" },
                "check": { "type": "string", "nullable": true, "description": "The region check's warning: the point is outside the region the row's Region or Country names" } } },
            "RowsPage": { "type": "object", "required": ["total", "offset", "limit", "rows"], "properties": {
                "total": { "type": "integer", "minimum": 0 }, "offset": { "type": "integer", "minimum": 0 }, "limit": { "type": "integer", "minimum": 1, "maximum": 1000 },
                "rows": { "type": "array", "items": { "$ref": "#/components/schemas/Row" } } } },
            "DeadJob": { "type": "object", "required": ["task_id", "session", "run", "attempts", "error", "died_at"], "properties": {
                "task_id": { "type": "string" },
                "session": { "type": "string", "pattern": "^[0-9a-f]{12}$", "nullable": true, "description": "The session's handle (the first 12 hex digits of the SHA-256 of its id), never its id; null when the payload does not decode" },
                "run": { "type": "integer", "minimum": 0, "nullable": true, "description": "The session's run the job was for; null when the payload does not decode" },
                "attempts": { "type": "integer", "minimum": 0, "description": "Queue attempts used" },
                "error": { "type": "string", "description": "Why it was given up" },
                "died_at": { "type": "string", "format": "date-time" } } },
            "DeadJobs": { "type": "object", "required": ["dead_jobs", "count"], "properties": {
                "dead_jobs": { "type": "array", "items": { "$ref": "#/components/schemas/DeadJob" } },
                "count": { "type": "integer", "minimum": 0, "description": "How many dead jobs there are in all" } } },
            "Event": { "type": "object", "description": "One server-sent event", "required": ["id", "data"], "properties": {
                "id": { "type": "string", "description": "Resume after it with Last-Event-ID or ?after=" },
                "event": { "type": "string", "enum": ["message"], "description": "Always the default: the kind is the data's `type`" },
                "data": { "type": "string", "description": "JSON: `{\"type\": \"start\" | \"progress\" | \"log\" | \"complete\" | \"error\", …}`. A `log` about a row carries its `row` and a `code`: the reason's for a failed row, `outside_region` for a point outside its region; `unknown_region` (with `regions`) lists once the region names the check does not know." } } }
            }
        }
    });
    // Kept apart so that neither `json!` grows past the macro's recursion limit.
    if let (Some(paths), Value::Object(ops)) = (doc["paths"].as_object_mut(), ops_paths()) {
        paths.extend(ops);
    }
    doc
}
