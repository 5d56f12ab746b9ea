//! Every listing pages the same way: `limit` (refused outside its bounds), and a
//! `Link: <…>; rel="next"` header to follow until there is none. Nothing is unreachable.

use crate::helpers::{TestApp, request_body, spawn_app};
use serde_json::Value;
use std::collections::HashSet;

/// Follows `next` links from `path`; every item of every page, and the number of pages.
async fn walk(
    app: &TestApp,
    path: &str,
    items: impl Fn(&Value) -> Vec<Value>,
) -> (Vec<Value>, usize) {
    let (mut all, mut pages, mut next) = (Vec::new(), 0, Some(path.to_owned()));
    while let Some(path) = next.take() {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        next = response.headers().get("link").map(|link| {
            let link = link.to_str().unwrap();
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        });
        let body: Value = response.json().await.unwrap();
        all.extend(items(&body));
        pages += 1;
        assert!(pages < 100, "the walk ends");
    }
    (all, pages)
}

fn array(body: &Value) -> Vec<Value> {
    body.as_array().unwrap().clone()
}

fn ids(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_listing_is_walked_to_its_end_by_its_next_links() {
    let app = spawn_app().await.with_defaults().await;
    // alice asks for 7 tools (three kinds of index key per listing), bob for 4.
    let tools = [
        "grammarly",
        "otter-ai",
        "cursor",
        "deepl",
        "perplexity-pro",
        "tabnine",
        "claude-team",
    ];
    for (n, tool) in tools.iter().enumerate() {
        app.decide(&request_body(
            &format!("AIR-{}", n + 1),
            "alice@example.com",
            tool,
            7,
        ))
        .await;
    }
    for (n, tool) in tools.iter().take(4).enumerate() {
        app.decide(&request_body(
            &format!("BOB-{}", n + 1),
            "bob@example.com",
            tool,
            7,
        ))
        .await;
    }
    let (all, _) = walk(&app, "/v1/requests?limit=500", array).await;
    assert_eq!(all.len(), 11);

    for query in [
        "",
        "requester=alice@example.com",
        "tool=grammarly",
        "status=pending",
        "status=approved",
    ] {
        let (whole, _) = walk(&app, &format!("/v1/requests?{query}&limit=500"), array).await;
        let (paged, pages) = walk(&app, &format!("/v1/requests?{query}&limit=2"), array).await;
        let (whole, paged) = (ids(&whole, "request_id"), ids(&paged, "request_id"));
        assert_eq!(
            paged.len(),
            paged.iter().collect::<HashSet<_>>().len(),
            "{query}: none twice"
        );
        assert_eq!(
            paged.iter().collect::<HashSet<_>>(),
            whole.iter().collect::<HashSet<_>>(),
            "{query}: every one reached"
        );
        assert!(pages >= whole.len().div_ceil(2), "{query}: {pages} pages");
    }
    for query in [
        "",
        "user=alice@example.com",
        "state=pending_provision",
        "tool=grammarly",
    ] {
        let (whole, _) = walk(&app, &format!("/v1/grants?{query}&limit=500"), array).await;
        let (paged, _) = walk(&app, &format!("/v1/grants?{query}&limit=1"), array).await;
        assert!(!whole.is_empty(), "{query}");
        assert_eq!(ids(&paged, "grant_id"), ids(&whole, "grant_id"), "{query}");
    }
    let (jobs, pages) = walk(&app, "/v1/jobs?limit=1", array).await;
    assert!(
        jobs.len() >= 2 && pages >= jobs.len(),
        "{} jobs in {pages} pages",
        jobs.len()
    );
    let (decisions, _) = walk(&app, "/v1/decisions?limit=3", |b| {
        b["decisions"].as_array().unwrap().clone()
    })
    .await;
    assert_eq!(decisions.len(), 11);
    let (events, _) = walk(&app, "/v1/audit/events?limit=5", |b| {
        b["events"].as_array().unwrap().clone()
    })
    .await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every entry once, in order"
    );
    // An unknown or made-up cursor is a position, not an error.
    assert_eq!(app.get("/v1/requests?after=zzz").await.status(), 200);
    assert_eq!(app.get("/v1/escalations?after=req_x|7").await.status(), 200);
    assert_eq!(app.get("/v1/recertifications?limit=1").await.status(), 200);
}
