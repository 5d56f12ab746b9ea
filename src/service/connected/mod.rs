//! Connected mode: connectors and their write-only credentials, users' identities at the IdPs,
//! and the worker that carries out the jobs of connected tools.

mod attempt;
mod check;
mod connectors;
mod drift;
mod identities;
mod outcome;
mod worker;

pub use check::GrantCheck;
pub use connectors::{ConnectorCheck, ConnectorTest};
pub(super) use connectors::{check, configured_entry};
pub use drift::{DRIFT_RUNS_SHOWN, DriftConfig, DriftRuns};
pub use identities::IdentityBody;
pub use outcome::HOLD;
pub use worker::JobsRun;

use crate::connect::Connectors;
use std::sync::Arc;
use std::time::Duration;

/// Settings of connected mode.
#[derive(Debug, Clone)]
pub struct ConnectedConfig {
    /// How long one IdP call may take before it counts as a timeout (and is retried).
    pub call_timeout: Duration,
    /// How drift runs act on what they find.
    pub drift: DriftConfig,
    /// The only hosts connectors may call, when set (an egress allowlist: a connector
    /// pointed elsewhere is refused when it is configured).
    pub allowed_hosts: Option<Vec<String>>,
}

impl Default for ConnectedConfig {
    fn default() -> Self {
        Self {
            call_timeout: crate::connect::DEFAULT_TIMEOUT,
            drift: DriftConfig::default(),
            allowed_hosts: None,
        }
    }
}

/// The connectors' HTTP client and links, and the grants whose job is in flight.
#[derive(Debug)]
pub(super) struct Connected {
    connectors: Connectors,
    /// Grants with a job being carried out now. One job per grant at a time, so a
    /// deprovision never overtakes the fulfilment it undoes (a grant revoked while its user
    /// is being added ends with the user removed).
    in_flight: Arc<super::in_flight::InFlight<crate::domain::GrantId>>,
    /// Held while a group named in a binding is looked up or created.
    creating_group: tokio::sync::Mutex<()>,
}

impl Connected {
    /// The client for `config`.
    pub(super) fn start(config: &ConnectedConfig) -> Result<Self, super::ServiceError> {
        let connectors =
            Connectors::new(config.call_timeout).map_err(|_| super::ServiceError::Unavailable)?;
        Ok(Self {
            connectors,
            in_flight: Arc::default(),
            creating_group: tokio::sync::Mutex::default(),
        })
    }

    /// Every connector's call counters, for the metrics.
    pub(super) fn call_stats(&self) -> Vec<(String, crate::connect::CallStats)> {
        self.connectors
            .stats()
            .into_iter()
            .map(|(id, s)| (id.to_string(), s))
            .collect()
    }
}
