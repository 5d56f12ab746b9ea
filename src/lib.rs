//! clearance: governs access to AI tools for organisations that run Jira Service Management.
//!
//! Layers point one way: [`http`] → [`service`] → [`policy`], [`store`] → [`domain`]; the
//! pure [`evidence`] module (audit entries, hashes, the verifier) serves `store` and `cli`.

pub mod cli;
pub mod clock;
pub mod connect;
pub mod domain;
pub mod evidence;
pub mod http;
pub mod metrics;
pub mod policy;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod store;
