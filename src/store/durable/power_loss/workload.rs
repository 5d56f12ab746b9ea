//! The harness's workload: the real service over a store on the simulated disk, driven by a
//! seeded choice of operations.

use super::disk::{Fault, SimDisk};
use crate::clock::ManualClock;
use crate::domain::{RequestStatus, Role, SubmitRequest, UserUpsert};
use crate::metrics::Metrics;
use crate::service::{
    Actor, ApproveBody, LifecycleConfig, Service, ServiceConfig, ServiceError, Submitted,
};
use crate::store::{Store, StoreOptions};
use chrono::{Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const EMPLOYEES: usize = 8;
/// Tools of the built-in catalog, of every risk.
const TOOLS: [&str; 6] = [
    "grammarly",
    "tabnine",
    "chatgpt",
    "github-copilot",
    "claude",
    "deepl",
];

fn actor(role: Role) -> Actor {
    Actor {
        token_id: "power-loss".into(),
        role,
        subject: None,
    }
}

/// The service under test and the seeded choices that drive it.
pub struct World {
    service: Arc<Service>,
    store: Store,
    clock: Arc<ManualClock>,
    disk: SimDisk,
    rng: StdRng,
    runtime: tokio::runtime::Runtime,
    issued: usize,
    pending: Vec<String>,
}

impl World {
    /// The service over a new store on `disk` (key files in `keys`), with a directory of
    /// employees, their manager, an approver, and the built-in catalog.
    pub fn start(keys: &Path, disk: &SimDisk, seed: u64) -> Self {
        let options = StoreOptions {
            disk: Arc::new(disk.clone()),
            recover_every: std::time::Duration::ZERO,
            // Only the workload makes the database durable, so that its faults meet it.
            sync_every: std::time::Duration::from_secs(86_400),
            ..StoreOptions::default()
        };
        let store = Store::open_with(keys, options).unwrap();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let config = ServiceConfig {
            policies_dir: root.join("policies"),
            schema_path: root.join("schemas/clearance.cedarschema"),
            admin_token: None,
            lifecycle: LifecycleConfig {
                // Short, so that sweeps prune audit entries too (a range removal, which
                // commits durably rather than through the journal).
                audit_retention: Some(Duration::days(20)),
                ..LifecycleConfig::default()
            },
            connected: Default::default(),
        };
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        ));
        let service = Service::start(
            store.clone(),
            config,
            clock.clone(),
            Arc::new(Metrics::default()),
        )
        .unwrap();
        let world = Self {
            service: Arc::new(service),
            store,
            clock,
            disk: disk.clone(),
            rng: StdRng::seed_from_u64(seed),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            issued: 0,
            pending: Vec::new(),
        };
        world.directory();
        world
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn directory(&self) {
        let admin = actor(Role::Admin);
        self.service.seed_tools(&admin).unwrap();
        let put = |email: &str, body: serde_json::Value| {
            let upsert: UserUpsert = serde_json::from_value(body).unwrap();
            self.service.put_user(&admin, email, upsert).unwrap();
        };
        put(
            "carol@example.com",
            serde_json::json!({"groups": ["employees"]}),
        );
        put(
            "dave@example.com",
            serde_json::json!({"groups": ["employees", "approvers"]}),
        );
        for n in 0..EMPLOYEES {
            put(
                &format!("user{n}@example.com"),
                serde_json::json!({"groups": ["employees"], "manager": "carol@example.com"}),
            );
        }
    }

    /// Runs `steps` seeded operations; after each, `acked(true)` if it was acknowledged (its
    /// change committed) and `acked(false)` if it was refused. Returns what ran.
    ///
    /// Every `SYNC_EVERY`th step is a sync, as the writer's periodic one, besides those
    /// drawn: a short run still has work between syncs' durable commits and the syncs that
    /// return at the next one (`journals.rs`).
    pub fn run(mut self, steps: usize, mut acked: impl FnMut(bool)) -> String {
        const SYNC_EVERY: usize = 8;
        let mut ran = [0usize; 7];
        for step in 1..=steps {
            let op = match step % SYNC_EVERY {
                0 => 80,
                _ => self.rng.random_range(0..100),
            };
            let (kind, committed) = match op {
                0..35 => (0, self.lone()),
                35..55 => (1, self.batch()),
                55..70 => (2, self.approve()),
                70..80 => (3, self.sweep()),
                80..88 => (4, self.sync()),
                88..94 => (5, self.journal_sync_fails()),
                _ => (6, self.database_write_fails()),
            };
            ran[kind] += 1;
            acked(committed);
        }
        format!(
            "{} lone and {} batched decisions, {} approvals, {} sweeps, {} syncs, {} failed \
             journal syncs, {} failed database writes",
            ran[0], ran[1], ran[2], ran[3], ran[4], ran[5], ran[6]
        )
    }

    fn request(&mut self) -> SubmitRequest {
        self.issued += 1;
        let user = self.rng.random_range(0..EMPLOYEES);
        let tool = TOOLS[self.rng.random_range(0..TOOLS.len())];
        let days = self.rng.random_range(1..40);
        serde_json::from_value(serde_json::json!({
            "issue_key": format!("PL-{}", self.issued),
            "requester": format!("user{user}@example.com"),
            "tool": tool,
            "purpose": "Draft customer emails",
            "duration_days": days,
        }))
        .unwrap()
    }

    fn decided(&mut self, submitted: Result<Submitted, ServiceError>) {
        let submitted = submitted.unwrap();
        if submitted.request.status == RequestStatus::Pending {
            self.pending.push(submitted.request.id.to_string());
        }
    }

    fn lone(&mut self) -> bool {
        let body = self.request();
        let service = Arc::clone(&self.service);
        let submitted = self
            .runtime
            .block_on(async move { service.submit(&actor(Role::Automation), body).await });
        self.decided(submitted);
        true
    }

    /// Several decisions at once: they queue for the writer and commit in batches.
    fn batch(&mut self) -> bool {
        let n = self.rng.random_range(2..7);
        let bodies: Vec<_> = (0..n).map(|_| self.request()).collect();
        let service = Arc::clone(&self.service);
        let results = self.runtime.block_on(async move {
            let tasks: Vec<_> = bodies
                .into_iter()
                .map(|body| {
                    let service = Arc::clone(&service);
                    tokio::spawn(
                        async move { service.submit(&actor(Role::Automation), body).await },
                    )
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        });
        results.into_iter().for_each(|r| self.decided(r));
        true
    }

    /// Signs off a pending request's next stage, as its manager or as an approver.
    fn approve(&mut self) -> bool {
        if self.pending.is_empty() {
            return self.lone();
        }
        let id = self.pending[self.rng.random_range(0..self.pending.len())].clone();
        let approver = ["carol@example.com", "dave@example.com"][self.rng.random_range(0..2)];
        let body = ApproveBody {
            approver: Some(approver.into()),
            comment: None,
        };
        match self.service.approve(&actor(Role::Approver), &id, body) {
            Ok(reviewed) => {
                if reviewed.request.status != RequestStatus::Pending {
                    self.pending.retain(|p| *p != id);
                }
                true
            }
            // The policies refuse this approver for this stage, or the request moved on.
            Err(
                ServiceError::Forbidden(_)
                | ServiceError::NotPermitted { .. }
                | ServiceError::RequestNotPending(_)
                | ServiceError::DuplicateGrant { .. }
                | ServiceError::InvalidTransition(_),
            ) => true,
            Err(e) => panic!("approving {id}: {e:?}"),
        }
    }

    /// A few days pass and the lifecycle sweeps run.
    fn sweep(&mut self) -> bool {
        self.clock
            .advance(Duration::days(self.rng.random_range(1..12)));
        self.service.run_sweeps().unwrap();
        true
    }

    fn sync(&mut self) -> bool {
        self.store.sync().unwrap();
        true
    }

    /// The journal's sync fails under a decision: it is refused, and the store reopens.
    fn journal_sync_fails(&mut self) -> bool {
        self.disk.inject(Fault::JournalSync);
        let body = self.request();
        let service = Arc::clone(&self.service);
        let refused = self
            .runtime
            .block_on(async move { service.submit(&actor(Role::Automation), body).await });
        assert!(
            matches!(refused, Err(ServiceError::Unavailable)),
            "{refused:?}"
        );
        assert!(self.service.ready(), "the store reopens");
        false
    }

    /// A write of the database file fails while it is made durable: the sync is refused,
    /// and the store reopens, applying the journal.
    fn database_write_fails(&mut self) -> bool {
        self.lone();
        self.disk.inject(Fault::DatabaseWrite);
        assert!(self.store.sync().is_err(), "the sync wrote nothing");
        assert!(self.service.ready(), "the store reopens");
        true
    }
}
