//! What the benches share: a seeded store, and a service over it with the shipped policies.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use clearance::clock::ManualClock;
use clearance::domain::{
    Connector, Email, Grant, GrantState, GroupId, RequestId, Risk, Tool, ToolId, ToolStatus, User,
};
use clearance::metrics::Metrics;
use clearance::service::{Service, ServiceConfig};
use clearance::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// Starts the service over `store` with the repository's policies, its clock standing at `now`.
pub fn start(store: Store, now: DateTime<Utc>) -> Service {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = ServiceConfig {
        policies_dir: root.join("policies"),
        schema_path: root.join("schemas/clearance.cedarschema"),
        admin_token: None,
        lifecycle: Default::default(),
        connected: Default::default(),
    };
    let clock = Arc::new(ManualClock::new(now));
    Service::start(store, config, clock, Arc::new(Metrics::default())).unwrap()
}

pub const RISKS: [Risk; 4] = [Risk::Low, Risk::Medium, Risk::High, Risk::Critical];

pub fn email(i: usize) -> Email {
    Email::parse("e", &format!("user{i}@example.com")).unwrap()
}

pub fn tool_id(i: usize) -> ToolId {
    ToolId::parse("t", &format!("tool-{i}")).unwrap()
}

/// `users` employees (each managed by the next), `tools` approved tools cycling through the
/// risks, and `grants` grants spread over users then tools: all active, or with `historic`
/// those for odd-numbered tools expired (so that new requests for them are not duplicates).
pub fn seed(store: &Store, users: usize, tools: usize, grants: usize, historic: bool) {
    let employees = GroupId::parse("g", "employees").unwrap();
    store
        .write(|w| {
            for t in 0..tools {
                w.put_tool(&Tool {
                    id: tool_id(t),
                    name: format!("Tool {t}"),
                    provider: "Vendor".into(),
                    status: ToolStatus::Approved,
                    risk: RISKS[t % RISKS.len()],
                    default_duration_days: 30,
                    guidance: None,
                    connector: Connector::default(),
                    aliases: Vec::new(),
                })?;
            }
            for u in 0..users {
                w.put_user(&User {
                    email: email(u),
                    groups: vec![employees.clone()],
                    department: Some("Engineering".into()),
                    manager: Some(email((u + 1) % users)),
                    jira_account_id: None,
                })?;
            }
            Ok::<_, clearance::store::StoreError>(())
        })
        .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for chunk in (0..grants).collect::<Vec<_>>().chunks(100_000) {
        store
            .write(|w| {
                for &g in chunk {
                    let tool = (g / users) % tools;
                    let mut grant = Grant::pending(
                        RequestId::generate(start),
                        email(g % users),
                        tool_id(tool),
                        30,
                        start,
                    );
                    grant.state = GrantState::Active;
                    grant.starts_at = Some(start);
                    if historic && tool % 2 == 1 {
                        grant.state = GrantState::Expired;
                        grant.expires_at = Some(start + Duration::days(30));
                    }
                    w.insert_grant(&grant)?;
                }
                Ok::<_, clearance::store::StoreError>(())
            })
            .unwrap();
    }
    store.sync().unwrap();
}
