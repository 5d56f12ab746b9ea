//! The worker: takes the connector jobs that are due, carries each out at its IdP (outside
//! any transaction) and records the outcome. Delivery is at least once: a job whose outcome
//! was not recorded (a crash between the call and the record) is still due and runs again,
//! and every action is idempotent at the IdP.

use super::super::{Actor, Service, ServiceError};
use super::attempt::Attempt;
use super::outcome::{self, Settled};
use crate::domain::Job;
use crate::store::{ConnectedQueries, LifecycleQueries};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Jobs taken per round.
const ROUND: usize = 256;

/// What one run of the due jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobsRun {
    /// Jobs carried out (the membership is as wanted).
    pub done: usize,
    /// Jobs that failed in a way that may pass, and run again later.
    pub retrying: usize,
    /// Jobs that failed for good (escalated).
    pub failed: usize,
    /// Jobs of a disabled or stopped connector, not tried.
    pub held: usize,
}

impl JobsRun {
    fn count(&mut self, settled: Settled) {
        match settled {
            Settled::Done => self.done += 1,
            Settled::Retrying => self.retrying += 1,
            Settled::Failed => self.failed += 1,
            Settled::Held => self.held += 1,
            Settled::Superseded => {}
        }
    }
}

impl Service {
    /// Runs the connector jobs due at the clock's now, on an operator's request.
    pub async fn run_jobs_now(self: &Arc<Self>, actor: &Actor) -> Result<JobsRun, ServiceError> {
        actor.require(&[], "run jobs")?;
        self.run_due_jobs().await
    }

    /// Runs every connector job due at the clock's now, round after round until none is left
    /// that is not in flight elsewhere.
    pub async fn run_due_jobs(self: &Arc<Self>) -> Result<JobsRun, ServiceError> {
        let now = self.clock.now();
        let mut run = JobsRun::default();
        let mut seen = HashSet::new();
        loop {
            let due = self.store.read()?.due_jobs(now, ROUND)?;
            let mut tasks = JoinSet::new();
            for job in due {
                if !seen.insert(job.job_id.clone()) {
                    continue;
                }
                let Some(claim) = self.connected.in_flight.claim(&job.grant_id) else {
                    continue;
                };
                let service = Arc::clone(self);
                tasks.spawn(async move {
                    let settled = service.run_job(&job.job_id).await;
                    drop(claim);
                    settled
                });
            }
            if tasks.is_empty() {
                return Ok(run);
            }
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(Ok(Some(settled))) => run.count(settled),
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "a connector job could not be recorded")
                    }
                    Err(e) => tracing::error!(error = %e, "a connector job task failed"),
                }
            }
        }
    }

    /// Carries out one job if it is still due, and records its outcome.
    async fn run_job(&self, job_id: &str) -> Result<Option<Settled>, ServiceError> {
        let now = self.clock.now();
        let Some(job) = self.store.read()?.job(job_id)? else {
            return Ok(None);
        };
        if job.due_at().is_none_or(|at| at > now) {
            return Ok(None);
        }
        let attempt = self.attempt(&job).await?;
        let settled = self.record_attempt(&job, attempt).await?;
        self.metrics.connector_job(&job, settled_name(settled));
        Ok(Some(settled))
    }

    async fn record_attempt(&self, job: &Job, attempt: Attempt) -> Result<Settled, ServiceError> {
        let Some(connector) = job.connector.managed_by().cloned() else {
            return Err(ServiceError::NotFound("connector"));
        };
        let max_attempts = self
            .store
            .read()?
            .connector(&connector)?
            .map_or(crate::domain::connector::DEFAULT_MAX_ATTEMPTS, |c| {
                c.max_attempts
            });
        let job_id = job.job_id.clone();
        let at = self.clock.now();
        self.writer
            .write_async(move |w| {
                outcome::record(w, &job_id, &connector, max_attempts, &attempt, at)
            })
            .await
    }

    /// Puts a failed job back in the queue, due now with its attempts from zero.
    pub fn retry_job(&self, actor: &Actor, id: &str) -> Result<Job, ServiceError> {
        actor.require(super::super::grants::OPERATORS, "retry jobs")?;
        let now = self.clock.now();
        self.store.write(|w| {
            let job = w.job(id)?.ok_or(ServiceError::NotFound("job"))?;
            outcome::reopen(w, &actor.audit_name(), &job, now)
        })
    }
}

fn settled_name(settled: Settled) -> &'static str {
    match settled {
        Settled::Done => "done",
        Settled::Retrying => "retrying",
        Settled::Failed => "failed",
        Settled::Held => "held",
        Settled::Superseded => "superseded",
    }
}
