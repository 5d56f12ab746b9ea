//! One attempt at a connector job: everything said to the IdP, outside any transaction. What
//! it learns on the way (a user's identity, a group created by name) is recorded at once, so a
//! later attempt does not ask again.

use super::super::{Service, ServiceError};
use super::identities::record_identity;
use crate::connect::{CallError, Change, Target};
use crate::domain::{
    Connector, ConnectorKind, ConnectorRecord, ConnectorType, Email, ExternalId, Identity,
    IdentitySource, Job, JobKind, ProviderCall, ToolId,
};
use crate::store::{ConnectedQueries, NewAuditEntry, Queries};
use std::time::Duration;

/// What an attempt came to.
#[derive(Debug, Clone)]
pub(super) enum Attempt {
    /// The membership is as the job wants it.
    Done {
        /// The IdP's answer.
        call: ProviderCall,
        /// The IdP found it so already.
        already: bool,
        /// A note for the record (such as "the IdP knows no such user").
        note: Option<String>,
    },
    /// May pass later.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
        call: Option<ProviderCall>,
    },
    /// The IdP refused the credentials: this job fails, the connector stops calling.
    CredentialsRefused {
        reason: String,
        call: Option<ProviderCall>,
    },
    /// Will not pass as it is; a person must look.
    Failed {
        reason: String,
        call: Option<ProviderCall>,
    },
    /// The connector is disabled or its credentials were refused: not tried, not counted.
    Held { reason: String },
}

impl Attempt {
    fn failed(reason: impl Into<String>) -> Self {
        Self::Failed {
            reason: reason.into(),
            call: None,
        }
    }
}

impl From<CallError> for Attempt {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Retryable {
                reason,
                retry_after,
                call,
            } => Self::Retry {
                reason,
                retry_after,
                call,
            },
            CallError::CredentialsRefused { reason, call } => {
                Self::CredentialsRefused { reason, call }
            }
            CallError::Rejected { reason, call } => Self::Failed { reason, call },
        }
    }
}

/// Whether a binding's connector may be called now.
pub(super) enum Usable {
    /// It may: its record and what to call.
    Ready(Box<(ConnectorRecord, Target)>),
    /// Not now: disabled, or its credentials were refused.
    Held(String),
    /// Not as configured.
    Unusable(String),
}

/// Who the audit log names for a connector's work.
pub(super) fn system_name(connector: &crate::domain::ConnectorId) -> String {
    format!("system:connector:{connector}")
}

fn kind_matches(tool: ConnectorKind, connector: ConnectorType) -> bool {
    matches!(
        (tool, connector),
        (ConnectorKind::OktaGroup, ConnectorType::Okta)
            | (ConnectorKind::EntraGroup, ConnectorType::Entra)
    )
}

impl Service {
    /// Carries out `job` at its connector's IdP. Errors are the store's; everything the IdP
    /// says is an [`Attempt`].
    pub(super) async fn attempt(&self, job: &Job) -> Result<Attempt, ServiceError> {
        let (record, target) = match self.usable(&job.connector)? {
            Usable::Ready(ready) => *ready,
            Usable::Held(reason) => return Ok(Attempt::Held { reason }),
            Usable::Unusable(reason) => return Ok(Attempt::failed(reason)),
        };
        match self.carry_out(job, &record, &target).await {
            Ok(attempt) => Ok(attempt),
            Err(Step::Call(e)) => Ok(e.into()),
            Err(Step::Store(e)) => Err(e),
        }
    }

    /// The connector a tool's binding names, with its credentials opened, if it may be
    /// called now.
    pub(super) fn usable(&self, binding: &Connector) -> Result<Usable, ServiceError> {
        let Some(connector_id) = binding.managed_by() else {
            return Ok(Usable::Unusable(
                "the tool is fulfilled by hand; it names no connector".into(),
            ));
        };
        let Some(record) = self.store.read()?.connector(connector_id)? else {
            return Ok(Usable::Unusable(format!(
                "connector {connector_id} is not configured (PUT /v1/connectors/{connector_id})"
            )));
        };
        if !record.enabled {
            return Ok(Usable::Held(format!(
                "connector {connector_id} is disabled"
            )));
        }
        if let Some(reason) = &record.refused_reason {
            return Ok(Usable::Held(format!(
                "connector {connector_id} is stopped until its credentials are replaced: {reason}"
            )));
        }
        if !kind_matches(binding.kind, record.kind) {
            return Ok(Usable::Unusable(format!(
                "the tool is bound as {:?} but connector {connector_id} is {}",
                binding.kind,
                record.kind.as_str()
            )));
        }
        Ok(match self.target(&record) {
            Ok(target) => Usable::Ready(Box::new((record, target))),
            Err(_) => Usable::Unusable(format!(
                "connector {connector_id}'s credentials do not open with this data folder's key file; set them again"
            )),
        })
    }

    async fn carry_out(
        &self,
        job: &Job,
        record: &ConnectorRecord,
        target: &Target,
    ) -> Result<Attempt, Step> {
        let group = self.group(&job.tool, &job.connector, target).await?;
        let connectors = &self.connected.connectors;
        let Some(user) = self.external_user(&job.user, record, target).await? else {
            return Ok(match job.kind {
                JobKind::Deprovision => Attempt::Done {
                    call: ProviderCall {
                        status: 404,
                        request_id: None,
                    },
                    already: true,
                    note: Some(format!(
                        "the IdP knows no user {}; nothing to remove",
                        job.user
                    )),
                },
                JobKind::Fulfil => Attempt::failed(format!(
                    "the IdP knows no user with login or email {} (map one with PUT /v1/users/{}/identities/{})",
                    job.user, job.user, record.id
                )),
            });
        };
        let answer = match job.kind {
            JobKind::Fulfil => connectors.add_member(target, &group, &user).await?,
            JobKind::Deprovision => connectors.remove_member(target, &group, &user).await?,
        };
        Ok(Attempt::Done {
            call: answer.call,
            already: answer.value == Change::AlreadyDone,
            note: None,
        })
    }

    /// The group the job's membership is in: the binding's id, the tool's (created since the
    /// job was opened), or the group named `group_name`, created now and recorded on the tool.
    async fn group(
        &self,
        tool: &ToolId,
        binding: &Connector,
        target: &Target,
    ) -> Result<ExternalId, Step> {
        if let Some(group) = binding.group_id() {
            return Ok(group);
        }
        let tool_id = tool.clone();
        // One creation at a time, and a look at the tool once it is our turn: jobs of the same
        // tool running together must not each create a group.
        let _creating = self.connected.creating_group.lock().await;
        let tool = self.store.read()?.tool(&tool_id)?;
        if let Some(group) = tool.as_ref().and_then(|t| t.connector.group_id()) {
            return Ok(group);
        }
        let Some(name) = binding.group_name.clone() else {
            return Err(Step::Call(CallError::Rejected {
                reason: "the tool's binding names no group".into(),
                call: None,
            }));
        };
        let created = self
            .connected
            .connectors
            .find_or_create_group(target, &name)
            .await?;
        let group = created.value.clone();
        let (by, at) = (system_name(&target.id), self.clock.now());
        let recorded = group.clone();
        self.writer
            .write_async(move |w| {
                let Some(mut tool) = w.tool(&tool_id)? else {
                    return Ok(());
                };
                if tool.connector.group.is_some() {
                    return Ok(());
                }
                tool.connector.group = Some(recorded.as_str().to_owned());
                w.put_tool(&tool)?;
                w.audit(
                    NewAuditEntry {
                        kind: "tool.group_created",
                        actor: by.clone(),
                        subject: tool.id.to_string(),
                        data: serde_json::json!({
                            "group": recorded, "group_name": tool.connector.group_name,
                            "provider": created.call,
                        }),
                    },
                    at,
                )?;
                Ok(())
            })
            .await?;
        Ok(group)
    }

    /// The user's id at the IdP: mapped, remembered, or looked up by email now (and then
    /// remembered). `None`: the IdP knows no such user.
    pub(super) async fn external_user(
        &self,
        user: &Email,
        record: &ConnectorRecord,
        target: &Target,
    ) -> Result<Option<ExternalId>, Step> {
        if let Some(known) = self.store.read()?.identity(user, &record.id)? {
            return Ok(Some(known.external_id));
        }
        let found = self.connected.connectors.find_user(target, user).await?;
        let Some(external_id) = found.value else {
            return Ok(None);
        };
        let identity = Identity {
            user: user.clone(),
            connector_id: record.id.clone(),
            external_id: external_id.clone(),
            source: IdentitySource::Lookup,
            recorded_at: self.clock.now(),
        };
        let by = system_name(&record.id);
        self.writer
            .write_async(move |w| record_identity(w, &by, &identity, identity.recorded_at))
            .await
            .map_err(|e| match e {
                // The IdP's user is mapped to someone else: a person must sort it out.
                ServiceError::InvalidTransition(reason) => {
                    Step::Call(CallError::Rejected { reason, call: None })
                }
                other => Step::Store(other),
            })?;
        Ok(Some(external_id))
    }
}

/// Why an attempt stopped before its end.
pub(super) enum Step {
    Call(CallError),
    Store(ServiceError),
}

impl From<CallError> for Step {
    fn from(e: CallError) -> Self {
        Self::Call(e)
    }
}

impl From<ServiceError> for Step {
    fn from(e: ServiceError) -> Self {
        Self::Store(e)
    }
}

impl From<crate::store::StoreError> for Step {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Store(e.into())
    }
}
