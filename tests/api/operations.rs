//! Health, readiness, metrics and the OpenAPI document.

use crate::helpers::{request_body, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await.with_defaults().await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    app.decide(&request_body("AIR-2", "alice@example.com", "nope", 7))
        .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("clearance_decisions_total{outcome=\"auto_approved\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("clearance_decisions_total{outcome=\"denied\"} 1"));
    assert!(metrics.contains("clearance_decision_duration_seconds_count 2"));
    assert!(metrics.contains("clearance_policy_version_seq 1"));
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/requests",
        "/v1/requests/{id}",
        "/v1/tools",
        "/v1/tools/{id}",
        "/v1/tools/seed",
        "/v1/users/{email}",
        "/v1/groups/{id}",
        "/v1/tokens",
        "/v1/policies/active",
        "/v1/policies/versions",
        "/v1/policies/versions/{version}",
        "/v1/policies/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from openapi.json"
        );
    }
    let submit = &doc["paths"]["/v1/requests"]["post"];
    assert!(submit["responses"].get("201").is_some());
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn the_openapi_document_states_what_the_server_enforces() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "{method} {path}"
            );
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    p["in"] == "path",
                    in_path,
                    "{method} {path}: {name} is {}",
                    p["in"]
                );
            }
            let responses = op["responses"].as_object().unwrap();
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
            }
            if path != "/readyz" {
                let busy = &responses["503"];
                assert!(
                    busy["headers"].get("Retry-After").is_some(),
                    "{method} {path}"
                );
            }
        }
    }
    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{name} is referenced but missing"
        );
    }
    let email = &doc["components"]["schemas"]["Email"]["pattern"];
    assert_eq!(
        email.as_str(),
        Some(clearance::domain::formats::EMAIL.pattern)
    );
    let links = &doc["paths"]["/v1/requests"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["ApproveRequest"]["operationId"],
        "post_requests_id_approve"
    );
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(response.headers().get("x-request-id").is_some());
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let header_read = Duration::from_millis(800);
    let app = crate::helpers::spawn_app_with(clearance::http::Timeouts {
        header_read,
        ..Default::default()
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: yes\r\n\r\n";
        let mut sent = 0;
        for byte in request {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // The server closes the connection: a read sees the end (perhaps after a 408).
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
        (sent, rest)
    });
    // Meanwhile others are served, promptly.
    for _ in 0..5 {
        let asked = Instant::now();
        assert_eq!(app.get("/healthz").await.status(), 200);
        assert!(asked.elapsed() < header_read);
    }
    let (sent, rest) = trickle.await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        sent < 5,
        "the slow client sent {sent} bytes before being cut off"
    );
    assert!(elapsed < header_read * 6, "cut off after {elapsed:?}");
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        !answer.contains("200 OK"),
        "the slow client was served: {answer}"
    );
}
