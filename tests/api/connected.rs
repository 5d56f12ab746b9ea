//! Connected mode against stateful fake Okta and Graph servers behind Prism's validating
//! proxy: grants change group membership by themselves, faults are retried or escalated, and
//! nothing clearance sends breaks the vendors' specs.

use crate::fake_idp::{ENTRA_CLIENT, ENTRA_SECRET, FakeIdp, Fault, OKTA_TOKEN, Op};
use crate::helpers::{TestApp, request_body, spawn_app, spawn_app_without_worker};
use crate::prism::Prism;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
pub const GROUP: &str = "00gchat0001";

/// A server, a fake IdP and the Prism proxies in front of it.
pub struct World {
    pub app: TestApp,
    pub idp: FakeIdp,
    pub prisms: Vec<Prism>,
}

pub enum Vendor {
    Okta,
    Entra,
}

impl World {
    /// The server (with or without its worker), the fake with alice and bob, and the tool
    /// `chat` (low risk, approved) bound to the group `GROUP` through connector `idp`.
    pub async fn start(vendor: Vendor, worker: bool) -> Self {
        let idp = FakeIdp::start().await;
        let app = if worker {
            spawn_app().await
        } else {
            spawn_app_without_worker().await
        };
        let app = app.with_defaults().await;
        let mut prisms = Vec::new();
        let (connector, kind) = match vendor {
            Vendor::Okta => {
                let okta = Prism::start("okta-groups-subset.yaml", &idp.address).await;
                idp.lock().public_okta = okta.url.clone();
                let body = json!({"type": "okta", "base_url": okta.url,
                    "credentials": {"api_token": OKTA_TOKEN}});
                prisms.push(okta);
                (body, "okta-group")
            }
            Vendor::Entra => {
                let graph = Prism::start("graph-v1.0-groups-subset.yaml", &idp.address).await;
                let token = Prism::start("entra-token-subset.yaml", &idp.address).await;
                idp.lock().public_graph = graph.url.clone();
                let body = json!({"type": "entra", "base_url": graph.url,
                    "token_url": format!("{}/tenant-1/oauth2/v2.0/token", token.url),
                    "credentials": {"client_id": ENTRA_CLIENT, "client_secret": ENTRA_SECRET}});
                prisms.push(graph);
                prisms.push(token);
                (body, "entra-group")
            }
        };
        let response = app.put("/v1/connectors/idp", &connector).await;
        assert_eq!(response.status(), StatusCode::OK);
        idp.add_user("u-alice", ALICE, ALICE);
        idp.add_user("u-bob", BOB, BOB);
        idp.add_group(GROUP, "ChatGPT users", &[]);
        let tool = json!({"name": "Chat", "provider": "Vendor", "status": "approved",
            "risk": "low", "default_duration_days": 30,
            "connector": {"type": kind, "connector_id": "idp", "group": GROUP}});
        let response = app.put("/v1/tools/chat", &tool).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            response.text().await
        );
        Self { app, idp, prisms }
    }

    /// Submits a request of `user` for `chat`; returns the grant id (auto-approved).
    pub async fn grant(&self, key: &str, user: &str) -> String {
        let answer = self.app.decide(&request_body(key, user, "chat", 7)).await;
        assert_eq!(answer["decision"]["outcome"], "auto_approved", "{answer}");
        answer["grant"]["grant_id"].as_str().unwrap().to_owned()
    }

    pub async fn get_grant(&self, id: &str) -> Value {
        let response = self.app.get(&format!("/v1/grants/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// The grant's jobs, newest last.
    pub async fn jobs_of(&self, grant: &str) -> Vec<Value> {
        let mut jobs = Vec::new();
        for event in self.app.audit_events().await {
            let id = event["data"]["job_id"]
                .as_str()
                .or(event["data"]["deprovision_job"].as_str());
            if event["subject"] == grant
                && let Some(id) = id
                && !jobs.contains(&id.to_owned())
            {
                jobs.push(id.to_owned());
            }
        }
        let mut out = Vec::new();
        for id in jobs {
            out.push(self.job(&id).await);
        }
        out
    }

    pub async fn job(&self, id: &str) -> Value {
        let response = self.app.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `POST /v1/jobs/run`: runs the due jobs now.
    pub async fn run_jobs(&self) -> Value {
        let response = self.app.post("/v1/jobs/run", &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Waits (for the worker) until the grant is in `state`; panics after 20 s.
    pub async fn until_grant(&self, id: &str, state: &str) -> Value {
        for _ in 0..400 {
            let grant = self.get_grant(id).await;
            if grant["state"] == state {
                return grant;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "grant {id} never became {state}: {}",
            self.get_grant(id).await
        );
    }

    /// Waits (for the worker) until the grant's last job is done; returns it.
    pub async fn until_last_job_done(&self, grant: &str) -> Value {
        for _ in 0..400 {
            if let Some(job) = self.jobs_of(grant).await.pop()
                && job["state"] == "done"
            {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the last job of {grant} never finished: {:?}",
            self.jobs_of(grant).await
        );
    }

    pub fn assert_specs_held(&self) {
        for prism in &self.prisms {
            prism.assert_clean();
        }
    }
}

#[tokio::test]
async fn an_auto_approved_okta_grant_is_fulfilled_by_clearance_and_revocation_removes_it() {
    let w = World::start(Vendor::Okta, true).await;
    let grant = w.grant("CON-1", ALICE).await;
    let active = w.until_grant(&grant, "active").await;
    assert!(active["expires_at"].is_string(), "{active}");
    assert_eq!(w.idp.members(GROUP), vec!["u-alice"]);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["mode"], "connector");
    assert_eq!(job["state"], "done");
    assert_eq!(job["outcome"], "fulfilled");
    assert_eq!(job["provider"]["status"], 204);
    assert_eq!(job["provider"]["request_id"], "req-add");
    let identities: Value = w
        .app
        .get(&format!("/v1/users/{ALICE}/identities"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(identities[0]["external_id"], "u-alice");
    assert_eq!(identities[0]["source"], "lookup");

    let response = w
        .app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "left"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let job = w.until_last_job_done(&grant).await;
    assert_eq!(job["kind"], "deprovision");
    assert_eq!(job["outcome"], "deprovisioned");
    assert!(w.idp.members(GROUP).is_empty());
    let fulfilled = w
        .app
        .audit_events()
        .await
        .into_iter()
        .find(|e| e["type"] == "grant.fulfilled" && e["subject"] == grant.as_str());
    let fulfilled = fulfilled.expect("grant.fulfilled audited");
    assert_eq!(fulfilled["data"]["provider"]["status"], 204, "{fulfilled}");
    w.assert_specs_held();
}

#[tokio::test]
async fn expiry_removes_the_member_through_the_sweep() {
    let w = World::start(Vendor::Okta, false).await;
    let grant = w.grant("CON-2", BOB).await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    assert_eq!(w.idp.members(GROUP), vec!["u-bob"]);
    w.app.clock.advance(chrono::Duration::days(8));
    let report = w.app.sweep().await;
    assert_eq!(report["grants_expired"], 1, "{report}");
    assert_eq!(report["jobs"]["done"], 1, "{report}");
    assert!(w.idp.members(GROUP).is_empty());
    w.assert_specs_held();
}

#[tokio::test]
async fn entra_fetches_a_token_refreshes_it_on_401_and_takes_already_done_answers() {
    let w = World::start(Vendor::Entra, false).await;
    // A guest: the UPN differs from the email, so the user is found by `mail`.
    w.idp.lock().users[0].login = "alice_example.com#EXT#@tenant.onmicrosoft.com".into();
    let grant = w.grant("CON-3", ALICE).await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    assert_eq!(w.idp.members(GROUP), vec!["u-alice"]);
    assert_eq!(w.idp.lock().tokens_issued, 1);

    // Bob is already a member when his grant is fulfilled: Graph's 400 "already exist" is
    // success. The token expired meanwhile: a 401 fetches a new one, once.
    w.idp
        .add_group(GROUP, "ChatGPT users", &["u-alice", "u-bob"]);
    w.idp.expire_tokens();
    let bobs = w.grant("CON-4", BOB).await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&bobs).await["state"], "active");
    assert_eq!(w.idp.lock().tokens_issued, 2);
    let job = w.jobs_of(&bobs).await.remove(0);
    assert_eq!(job["provider"]["status"], 400, "{job}");

    // Alice was removed behind clearance's back: the 404 of the removal is success.
    w.idp.add_group(GROUP, "ChatGPT users", &["u-bob"]);
    w.app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "done"}),
        )
        .await;
    assert_eq!(w.run_jobs().await["done"], 1);
    let job = w.jobs_of(&grant).await.pop().unwrap();
    assert_eq!(
        (job["state"].as_str(), job["provider"]["status"].as_u64()),
        (Some("done"), Some(404))
    );
    assert_eq!(w.idp.members(GROUP), vec!["u-bob"]);
    // Removal goes through `…/members/{id}/$ref`, never the user object.
    let removes: Vec<String> = w
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("DELETE"))
        .collect();
    assert_eq!(
        removes,
        vec![format!("DELETE /groups/{GROUP}/members/u-alice/$ref")]
    );
    w.assert_specs_held();
}

#[tokio::test]
async fn a_429_with_retry_after_is_tried_again_no_sooner_than_asked() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp
        .fail_next(Op::Add, 1, Fault::status(429).header("retry-after", "2"));
    let grant = w.grant("CON-5", ALICE).await;
    assert_eq!(w.run_jobs().await["retrying"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["state"], "retrying");
    assert_eq!(job["attempts"], 1);
    let due =
        chrono::DateTime::parse_from_rfc3339(job["next_attempt_at"].as_str().unwrap()).unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - created, chrono::Duration::seconds(2));

    w.app.clock.advance(chrono::Duration::milliseconds(1900));
    assert_eq!(
        w.run_jobs().await,
        json!({"done": 0, "retrying": 0, "failed": 0, "held": 0})
    );
    let adds = |w: &World| {
        w.idp
            .requests()
            .iter()
            .filter(|r| r.starts_with("PUT"))
            .count()
    };
    assert_eq!(adds(&w), 1, "not tried before the 2 s");
    w.app.clock.advance(chrono::Duration::milliseconds(100));
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(adds(&w), 2);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    w.assert_specs_held();
}

#[tokio::test]
async fn okta_rate_limit_reset_is_read_against_the_answers_date() {
    let w = World::start(Vendor::Okta, false).await;
    // The answer's clock is an hour behind ours: the wait is reset − Date, not reset − now.
    let date = std::time::SystemTime::now() - Duration::from_secs(3600);
    let reset = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    w.idp.fail_next(
        Op::Add,
        1,
        Fault::status(429)
            .header("date", &httpdate::fmt_http_date(date))
            .header("x-rate-limit-reset", &reset.to_string()),
    );
    let grant = w.grant("CON-6", ALICE).await;
    assert_eq!(w.run_jobs().await["retrying"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    let due =
        chrono::DateTime::parse_from_rfc3339(job["next_attempt_at"].as_str().unwrap()).unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().unwrap()).unwrap();
    let wait = (due - created).num_seconds();
    assert!((29..=30).contains(&wait), "waits {wait} s");
    w.assert_specs_held();
}

#[tokio::test]
async fn five_503s_fail_the_job_escalate_it_and_a_manual_retry_succeeds() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp.fail_next(Op::Add, 5, Fault::status(503));
    let grant = w.grant("CON-7", ALICE).await;
    for attempt in 1..=4 {
        assert_eq!(w.run_jobs().await["retrying"], 1, "attempt {attempt}");
        w.app.clock.advance(chrono::Duration::minutes(16));
    }
    assert_eq!(w.run_jobs().await["failed"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["state"], "failed");
    assert_eq!(job["attempts"], 5);
    assert!(job["last_error"].as_str().unwrap().contains("503"), "{job}");
    assert_eq!(w.get_grant(&grant).await["state"], "pending_provision");
    let escalations: Value = w
        .app
        .get("/v1/jobs/escalations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(escalations.as_array().unwrap().len(), 1);
    assert_eq!(escalations[0]["job_id"], job["job_id"]);
    // Not retried by itself.
    w.app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(w.run_jobs().await["done"], 0);

    let id = job["job_id"].as_str().unwrap();
    let response = w
        .app
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    let escalations: Value = w
        .app
        .get("/v1/jobs/escalations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(escalations, json!([]));
    let again = w
        .app
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    w.assert_specs_held();
}

#[tokio::test]
async fn a_user_the_idp_does_not_know_fails_at_once_with_a_clear_reason() {
    let w = World::start(Vendor::Okta, false).await;
    w.app
        .put_user("carol@example.com", &["employees"], Some(BOB))
        .await;
    let grant = w.grant("CON-8", "carol@example.com").await;
    assert_eq!(w.run_jobs().await["failed"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["state"], "failed");
    assert_eq!(job["attempts"], 1);
    let reason = job["last_error"].as_str().unwrap();
    assert!(
        reason.contains("knows no user with login or email carol@example.com"),
        "{reason}"
    );
    w.app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(w.run_jobs().await["failed"], 0, "not a retry loop");
    w.assert_specs_held();
}

#[tokio::test]
async fn a_grant_revoked_while_its_member_is_being_added_ends_without_the_member() {
    let w = World::start(Vendor::Okta, true).await;
    w.idp
        .fail_next(Op::Add, 1, Fault::slow(Duration::from_millis(800)));
    let grant = w.grant("CON-9", ALICE).await;
    for _ in 0..200 {
        if w.idp.requests().iter().any(|r| r.starts_with("PUT")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = w
        .app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "changed mind"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let job = w.until_last_job_done(&grant).await;
    assert_eq!(job["kind"], "deprovision");
    assert!(w.idp.members(GROUP).is_empty(), "{:?}", w.idp.requests());
    assert_eq!(w.get_grant(&grant).await["state"], "revoked");
    w.assert_specs_held();
}

#[tokio::test]
async fn refused_credentials_stop_the_connector_until_replaced_and_stay_secret() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp.fail_next(Op::FindUser, 1, Fault::status(401));
    let first = w.grant("CON-10", ALICE).await;
    assert_eq!(w.run_jobs().await["failed"], 1);
    let connector: Value = w.app.get("/v1/connectors/idp").await.json().await.unwrap();
    assert_eq!(connector["status"], "credentials_refused");
    assert_eq!(connector["credentials"], json!({"api_token": "set"}));
    let second = w.grant("CON-11", BOB).await;
    let calls = w.idp.requests().len();
    assert_eq!(w.run_jobs().await["held"], 1);
    assert_eq!(
        w.idp.requests().len(),
        calls,
        "a stopped connector calls nothing"
    );
    assert_eq!(w.app.get("/readyz").await.status(), StatusCode::OK);

    let fix = json!({"type": "okta", "base_url": w.prisms[0].url,
        "credentials": {"api_token": OKTA_TOKEN}});
    let fixed: Value = w
        .app
        .put("/v1/connectors/idp", &fix)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fixed["status"], "ok");
    w.app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&second).await["state"], "active");
    assert_eq!(w.get_grant(&first).await["state"], "pending_provision");

    // No answer or audit entry holds the token.
    let everything = format!(
        "{} {} {:?}",
        w.app.get("/v1/connectors").await.text().await.unwrap(),
        w.app
            .get("/v1/audit/export?format=jsonl")
            .await
            .text()
            .await
            .unwrap(),
        w.jobs_of(&first).await,
    );
    assert!(everything.contains("connector.configured"));
    assert!(!everything.contains(OKTA_TOKEN), "a credential leaked");
    w.assert_specs_held();
}

#[tokio::test]
async fn calls_are_paced_under_the_announced_rate_limit_and_counted_in_the_metrics() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp.limit_rate(600);
    for n in 0..4 {
        let user = format!("p{n}@example.com");
        w.idp.add_user(&format!("u-p{n}"), &user, &user);
        w.app.put_user(&user, &["employees"], Some(BOB)).await;
        w.grant(&format!("PACE-{}", n + 1), &user).await;
    }
    assert_eq!(w.run_jobs().await["done"], 4);
    assert_eq!(w.idp.lock().rate_limited, 0, "no call went over the limit");
    let metrics = w.app.get("/metrics").await.text().await.unwrap();
    let paced = metrics
        .lines()
        .find(|l| l.starts_with("clearance_connector_paced_seconds_total{connector=\"idp\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    assert!(paced > 0.0, "calls waited for their turn: {metrics}");
    assert!(
        metrics.contains("clearance_connector_calls_total{connector=\"idp\",status=\"2xx\"} 8"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "clearance_connector_jobs_total{connector=\"idp\",kind=\"fulfil\",outcome=\"done\"} 4"
    ));
    w.assert_specs_held();
}
