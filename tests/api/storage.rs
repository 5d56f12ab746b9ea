//! A disk that fills up under the database file: changes are refused 503 with Retry-After,
//! the server says it is not ready, nothing acknowledged is lost, and once space is back it
//! resumes by itself.

use crate::helpers::{TestApp, error_code, request_body, spawn_app_with_faults};
use serde_json::{Value, json};

/// The tools decisions rotate through, so that no two collide as duplicates.
const TOOLS: [&str; 4] = ["grammarly", "cursor", "otter-ai", "chatgpt-enterprise"];

async fn ready(app: &TestApp) -> u16 {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn a_full_disk_under_the_database_is_503_not_ready_loses_nothing_and_resumes_by_itself() {
    let app = spawn_app_with_faults().await.with_defaults().await;
    for i in 0..8 {
        app.put_user(&format!("user{i}@example.com"), &["employees"], None)
            .await;
    }
    let mut acknowledged = Vec::new();
    for n in 1..=4 {
        let key = format!("AIR-{n}");
        app.decide(&request_body(&key, "alice@example.com", TOOLS[n % 4], 7))
            .await;
        acknowledged.push(key);
    }
    assert_eq!(ready(&app).await, 200);

    app.faults.as_ref().unwrap().fill_disk();
    // Decisions sent together queue for the writer, whose batch then syncs the database
    // file: the first to fail on the full disk. Those answered 201 before are acknowledged.
    let mut refused = None;
    for round in 0..50 {
        let sent: Vec<_> = (0..8)
            .map(|i| {
                let key = format!("AIR-{}", 100 + round * 8 + i);
                let body = request_body(&key, &format!("user{i}@example.com"), TOOLS[i % 4], 7);
                let (client, url) = (app.client.clone(), app.url("/v1/requests"));
                tokio::spawn(async move {
                    let response = client
                        .post(url)
                        .bearer_auth(crate::helpers::ADMIN_TOKEN)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    (key, response)
                })
            })
            .collect();
        for answer in sent {
            let (key, response) = answer.await.unwrap();
            match response.status().as_u16() {
                201 => acknowledged.push(key),
                503 => refused = Some(response),
                other => panic!("{key}: {other} {}", response.text().await.unwrap()),
            }
        }
        if refused.is_some() {
            break;
        }
    }
    let refused = refused.expect("a change is refused once the disk is full");
    assert!(refused.headers().get("retry-after").is_some());
    assert_eq!(error_code(refused).await, "unavailable");
    assert_eq!(ready(&app).await, 503, "not ready while the disk is full");
    let change = app
        .put(
            "/v1/users/carol@example.com",
            &json!({"groups": ["employees"]}),
        )
        .await;
    assert_eq!(change.status(), 503);
    assert!(change.headers().get("retry-after").is_some());

    // Still full: it stays unavailable, however often it is asked.
    assert_eq!(ready(&app).await, 503);
    assert_eq!(ready(&app).await, 503);

    // Space is back: the next probe reopens the store in the process, no restart.
    app.faults.as_ref().unwrap().free_disk();
    assert_eq!(ready(&app).await, 200);
    for key in &acknowledged {
        let response = app.request(key).await;
        assert_eq!(response.status(), 200, "{key} was acknowledged");
    }
    let report: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    app.decide(&request_body("AIR-9999", "bob@example.com", "grammarly", 7))
        .await;
}

#[tokio::test]
async fn after_resuming_in_place_a_restart_finds_every_change_once() {
    let mut app = spawn_app_with_faults().await.with_defaults().await;
    app.decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    app.faults.as_ref().unwrap().fill_disk();
    // The writer's next batch syncs the database file and fails; a lone decision is answered
    // from the journal, so send two at once until one is refused.
    let mut n = 1;
    while ready(&app).await == 200 {
        n += 1;
        let first = request_body(&format!("AIR-{n}"), "bob@example.com", TOOLS[n % 4], 7);
        let second = request_body(&format!("BOX-{n}"), "alice@example.com", TOOLS[n % 4], 7);
        let (a, b) = tokio::join!(app.submit(&first), app.submit(&second));
        assert!(
            matches!(a.status().as_u16(), 201 | 503) && matches!(b.status().as_u16(), 201 | 503)
        );
        assert!(n < 400, "the full disk was never noticed");
    }
    app.faults.as_ref().unwrap().free_disk();
    assert_eq!(ready(&app).await, 200);
    app.decide(&request_body("AIR-9000", "bob@example.com", "grammarly", 7))
        .await;
    let before: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    app.restart().await;
    let after: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    assert_eq!(after["ok"], true, "{after}");
    assert_eq!(
        after["entries"], before["entries"],
        "nothing lost, nothing applied twice"
    );
    assert_eq!(after["head"], before["head"]);
}
