//! The OpenAPI document against the real router: no route missing, none undocumented.

use maplink_api::routes::{documented_routes, openapi_document, v1_routes};
use maplink_tests::{Backend, TestApp};
use reqwest::Method;
use serde_json::Value;

#[test]
fn the_document_describes_exactly_the_routes_served() {
    let served = v1_routes();
    let documented = documented_routes();
    assert!(served.len() >= 9, "{served:?}");
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_documented_route_is_answered_by_the_router() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(served, openapi_document());
    assert_eq!(served["openapi"], "3.0.3");

    let id = uuid::Uuid::new_v4().to_string();
    for (method, path) in documented_routes() {
        let url = app.url(&path.replace("{id}", &id));
        let r = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), url)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{method} {path}");
        assert_ne!(
            body["code"], "not_found",
            "{method} {path} fell through to the fallback"
        );
        assert_ne!(body["code"], "method_not_allowed", "{method} {path}");
    }
    // And the fallback really is what an unknown route gets.
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    app.stop().await;
}
