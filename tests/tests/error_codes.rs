//! The error codes the API can answer with and the ones the OpenAPI document names are
//! the same set, each under the status the API answers it with.
//!
//! The document names codes in backticks in its error responses' descriptions
//! ("Malformed id (`invalid_session_id`)"), and the codes any request may get (no such
//! route, a fault) in the `Error` schema's `code` description.

use std::collections::{BTreeMap, BTreeSet};

use maplink_api::error::ApiError;
use maplink_tests::{Backend, TestApp};
use serde_json::Value;

/// The words in backticks in `text`.
fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

/// Every code the document names in an error response, with the statuses it is named
/// under.
fn codes_by_status(doc: &Value) -> BTreeMap<String, BTreeSet<u16>> {
    let mut codes: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let operations = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|ops| ops.as_object().into_iter().flat_map(|o| o.values()));
    for operation in operations {
        let Some(responses) = operation["responses"].as_object() else {
            continue;
        };
        for (status, response) in responses {
            let status: u16 = status.parse().expect("a numeric status");
            if status < 400 {
                continue;
            }
            let description = response["description"].as_str().unwrap_or_default();
            for code in backticked(description) {
                codes.entry(code.to_owned()).or_default().insert(status);
            }
        }
    }
    codes
}

/// The codes the `Error` schema names for any request.
fn codes_for_any_request(doc: &Value) -> BTreeSet<String> {
    let description = doc["components"]["schemas"]["Error"]["properties"]["code"]["description"]
        .as_str()
        .expect("the Error schema describes its code");
    backticked(description).map(str::to_owned).collect()
}

#[tokio::test]
async fn every_error_code_is_in_the_openapi_document_and_every_documented_code_exists() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("the document");
    app.stop().await;

    let by_status = codes_by_status(&doc);
    let anywhere = codes_for_any_request(&doc);
    let documented: BTreeSet<String> = by_status.keys().cloned().chain(anywhere.clone()).collect();

    let v1: Vec<ApiError> = ApiError::catalogue()
        .into_iter()
        .filter(|e| !e.seed_only())
        .collect();
    let answered: BTreeSet<String> = v1.iter().map(|e| e.code().to_owned()).collect();
    assert_eq!(
        answered.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "codes the API answers with that the document does not name"
    );
    assert_eq!(
        documented.difference(&answered).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "codes the document names that the API never answers with"
    );

    for e in &v1 {
        if anywhere.contains(e.code()) {
            continue;
        }
        let statuses = &by_status[e.code()];
        assert!(
            statuses.contains(&e.status().as_u16()),
            "{e:?} is answered with {} but documented under {statuses:?}",
            e.status()
        );
    }
}

#[test]
fn the_original_apps_own_answers_are_not_in_the_v1_document() {
    let doc = maplink_api::routes::openapi_document();
    let documented: BTreeSet<String> = codes_by_status(&doc)
        .into_keys()
        .chain(codes_for_any_request(&doc))
        .collect();
    for e in ApiError::catalogue()
        .into_iter()
        .filter(ApiError::seed_only)
    {
        assert!(!documented.contains(e.code()), "{e:?}");
    }
}

#[test]
fn each_code_means_one_status() {
    // A code is one condition for scripts: it must not be a 400 here and a 503 there
    // (the original app's routes may answer with their own statuses; that is theirs).
    let mut statuses: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for e in ApiError::catalogue() {
        statuses
            .entry(e.code())
            .or_default()
            .insert(e.status().as_u16());
    }
    for (code, statuses) in statuses {
        assert_eq!(statuses.len(), 1, "{code}: {statuses:?}");
    }
}
