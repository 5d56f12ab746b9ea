//! Connected mode against stateful fake Okta and Graph servers behind Prism's validating
//! proxy: grants change group membership by themselves (`fulfilment`), faults are retried or
//! escalated (`faults`), groups are created and checked (`groups`) and compared with the
//! grants (`drift`), and nothing clearance sends breaks the vendors' specs.

mod connectors;
mod drift;
mod faults;
mod fulfilment;
mod groups;

use crate::fake_idp::{ENTRA_CLIENT, ENTRA_SECRET, FakeIdp, OKTA_TOKEN};
use crate::helpers::{TestApp, request_body, spawn_app, spawn_app_without_worker};
use crate::prism::Prism;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
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
