//! Policy versions: activation at start, reload, and the auditors' view of versions.

use super::auth::ANY_ROLE;
use super::{Actor, Service, ServiceConfig, ServiceError};
use crate::clock::Clock;
use crate::domain::{PolicyActivation, PolicySource, PolicyVersionId, PolicyVersionRecord};
use crate::policy::{Bundle, PolicyEngine, source_of};
use crate::store::{NewAuditEntry, Queries, Store};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The compiled version in force and how it came to be.
#[derive(Debug)]
pub struct ActivePolicy {
    /// The compiled bundle.
    pub engine: PolicyEngine,
    /// How it was activated.
    pub activation: PolicyActivation,
}

impl ActivePolicy {
    /// The version's sequence number.
    pub fn seq(&self) -> u64 {
        self.activation.seq
    }
}

/// The answer to a reload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    /// The active version.
    #[schema(value_type = String)]
    pub version: PolicyVersionId,
    /// Its sequence number.
    pub seq: u64,
    /// Whether the reload changed the active version.
    pub changed: bool,
}

/// The active policy, swapped atomically; decisions hold the `Arc` they started with.
#[derive(Debug)]
pub(super) struct PolicyState {
    current: RwLock<Arc<ActivePolicy>>,
    reloading: Mutex<()>,
}

impl PolicyState {
    pub(super) fn start(
        store: &Store,
        config: &ServiceConfig,
        clock: &dyn Clock,
    ) -> Result<Self, ServiceError> {
        let compiled = Bundle::load(&config.policies_dir, &config.schema_path)
            .and_then(|bundle| PolicyEngine::compile(&bundle).map(|engine| (bundle, engine)));
        let active = match compiled {
            Ok((bundle, engine)) => {
                let source = source_of(&config.policies_dir);
                activate(store, bundle, engine, source, "startup", clock)?.0
            }
            Err(error) => {
                let Some(stored) = stored_active(store)? else {
                    return Err(error.into());
                };
                tracing::error!(%error, version = %stored.activation.version,
                    "the policies folder is invalid; keeping the version that was active");
                stored
            }
        };
        Ok(Self {
            current: RwLock::new(Arc::new(active)),
            reloading: Mutex::new(()),
        })
    }

    /// The active policy; hold it for the whole of one decision.
    pub(super) fn current(&self) -> Arc<ActivePolicy> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, active: ActivePolicy) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(active);
    }
}

/// The version recorded as active, compiled from its stored text.
fn stored_active(store: &Store) -> Result<Option<ActivePolicy>, ServiceError> {
    let read = store.read()?;
    let Some(activation) = read.active_policy()? else {
        return Ok(None);
    };
    let Some(record) = read.policy_version(&activation.version)? else {
        return Ok(None);
    };
    let engine = PolicyEngine::compile(&Bundle::new(record.files, record.schema))?;
    Ok(Some(ActivePolicy { engine, activation }))
}

/// Records `engine`'s version as active (storing it if new) unless it already is.
fn activate(
    store: &Store,
    bundle: Bundle,
    engine: PolicyEngine,
    source: PolicySource,
    actor: &str,
    clock: &dyn Clock,
) -> Result<(ActivePolicy, bool), ServiceError> {
    let now = clock.now();
    let version = engine.version().clone();
    let (activation, changed) = store.write(|w| {
        if let Some(active) = w.active_policy()?
            && active.version == version
        {
            return Ok::<_, ServiceError>((active, false));
        }
        let seq = match w.policy_version(&version)? {
            Some(existing) => existing.seq,
            None => {
                let seq = w.next_policy_seq()?;
                w.insert_policy_version(&PolicyVersionRecord {
                    version: version.clone(),
                    seq,
                    files: bundle.files,
                    schema: bundle.schema,
                    source: source.clone(),
                    activated_at: now,
                    activated_by: actor.to_owned(),
                })?;
                seq
            }
        };
        let activation = PolicyActivation {
            version: version.clone(),
            seq,
            at: now,
            actor: actor.to_owned(),
            source,
        };
        w.activate_policy(&activation)?;
        w.audit(
            NewAuditEntry {
                kind: "policy.activated",
                actor: actor.to_owned(),
                subject: version.to_string(),
                data: serde_json::json!({"policy_version": version, "seq": seq,
                    "source": activation.source}),
            },
            now,
        )?;
        Ok((activation, true))
    })?;
    Ok((ActivePolicy { engine, activation }, changed))
}

impl Service {
    /// Loads the policies folder and activates it if it differs from the active version.
    /// An invalid bundle is refused and the active version stays.
    pub fn reload_policies(&self, actor: &Actor) -> Result<Reloaded, ServiceError> {
        actor.require(&[], "reload policies")?;
        let _one_at_a_time = self
            .policies
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let bundle = Bundle::load(&self.config.policies_dir, &self.config.schema_path)?;
        let engine = PolicyEngine::compile(&bundle)?;
        let source = source_of(&self.config.policies_dir);
        let (active, changed) = activate(
            &self.store,
            bundle,
            engine,
            source,
            &actor.audit_name(),
            self.clock.as_ref(),
        )?;
        let reloaded = Reloaded {
            version: active.activation.version.clone(),
            seq: active.seq(),
            changed,
        };
        if changed {
            self.metrics.policy_seq(active.seq());
            tracing::info!(version = %reloaded.version, seq = reloaded.seq, "policy version activated");
            self.policies.replace(active);
        }
        Ok(reloaded)
    }

    /// The active version and how it was activated.
    pub fn active_policy(&self, actor: &Actor) -> Result<Arc<ActivePolicy>, ServiceError> {
        actor.require(ANY_ROLE, "read policies")?;
        Ok(self.policies.current())
    }

    /// Every stored version, newest first.
    pub fn policy_versions(&self, actor: &Actor) -> Result<Vec<PolicyVersionRecord>, ServiceError> {
        actor.require(ANY_ROLE, "read policies")?;
        Ok(self.store.read()?.policy_versions()?)
    }

    /// One stored version with its full text.
    pub fn policy_version(
        &self,
        actor: &Actor,
        version: &str,
    ) -> Result<PolicyVersionRecord, ServiceError> {
        actor.require(ANY_ROLE, "read policies")?;
        let version = PolicyVersionId::parse("version", version)?;
        self.store
            .read()?
            .policy_version(&version)?
            .ok_or(ServiceError::NotFound("policy version"))
    }
}
