//! Jira as the record: the site's configuration, the outbox of write-backs queued with every
//! step of a request's life, and the worker that delivers them.

mod deliver;
mod intake;
mod outbox;
mod site;

pub use deliver::DeliveriesRun;
pub use intake::Intake;
pub(super) use outbox::{Step, write_back};
pub use site::JiraTest;

use super::in_flight::InFlight;
use crate::connect::Jira;
use std::sync::Arc;

/// The Jira client, and the issues with a delivery in flight.
#[derive(Debug)]
pub(super) struct JiraState {
    client: Jira,
    in_flight: Arc<InFlight<String>>,
}

impl JiraState {
    /// The client, its calls timing out after `timeout`.
    pub(super) fn start(timeout: std::time::Duration) -> Result<Self, super::ServiceError> {
        Ok(Self {
            client: Jira::new(timeout).map_err(|_| super::ServiceError::Unavailable)?,
            in_flight: Arc::default(),
        })
    }
}
