//! What the benches share: a service over a seeded store, with the shipped policies.

use chrono::{DateTime, Utc};
use clearance::clock::ManualClock;
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
    };
    let clock = Arc::new(ManualClock::new(now));
    Service::start(store, config, clock, Arc::new(Metrics::default())).unwrap()
}
