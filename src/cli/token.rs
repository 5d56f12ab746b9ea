//! `clearance token create|list|revoke`: the token endpoints of a running server.

use super::client::{Client, ServerArgs, runtime};
use super::unusable;
use crate::domain::Role;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::process::ExitCode;

/// What to do with tokens.
#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Create a token and print it with its secret (shown this once).
    Create(CreateArgs),
    /// List every token: id, role, subject, creation, expiry, last use; never a secret.
    List(ListArgs),
    /// Revoke a token at once.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub(super) struct CreateArgs {
    /// `admin`, `approver`, `auditor` or `automation`.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The directory user the token acts as.
    #[arg(long)]
    subject: Option<String>,
    /// Days until it expires (1 to 3,650); never when left out.
    #[arg(long)]
    expires_in_days: Option<u32>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
pub(super) struct RevokeArgs {
    /// The token's id (`tok_…`).
    id: String,
    #[command(flatten)]
    server: ServerArgs,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    serde_json::from_value(Value::String(raw.to_owned()))
        .map_err(|_| "expected admin, approver, auditor or automation".to_owned())
}

/// Runs the command; prints the server's answer as JSON. Exit 0 on success, 2 otherwise.
pub(super) fn run(command: TokenCommand) -> ExitCode {
    let outcome = runtime().and_then(|rt| {
        rt.block_on(async {
            match command {
                TokenCommand::Create(a) => {
                    let body = json!({"role": a.role, "subject": a.subject,
                                      "expires_in_days": a.expires_in_days});
                    Client::new(&a.server)
                        .post::<Value>("/v1/tokens", &body)
                        .await
                }
                TokenCommand::List(a) => {
                    Client::new(&a.server).get::<Value>("/v1/tokens", &[]).await
                }
                TokenCommand::Revoke(a) => {
                    let path = format!("/v1/tokens/{}", a.id);
                    Client::new(&a.server).delete::<Value>(&path).await
                }
            }
        })
    });
    match outcome.and_then(|v| serde_json::to_string_pretty(&v).map_err(|e| e.to_string())) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => unusable(&e),
    }
}
