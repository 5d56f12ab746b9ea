//! Integration tests: a real server on 127.0.0.1:0, talked to over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod audit;
mod auditors;
mod auth;
mod backup;
mod bad_input;
mod connected;
mod decisions;
mod evidence;
mod exports;
mod fake_idp;
mod fake_jira;
mod helpers;
mod idempotency;
mod jira;
mod lifecycle;
mod operations;
mod paging;
mod policies;
mod prism;
mod restart;
mod review;
mod review_helpers;
mod roles;
mod storage;
mod strict_input;
