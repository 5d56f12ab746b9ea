//! Building and running the server: configuration, store, service, listener.

use crate::clock::{SharedClock, SystemClock};
use crate::http::{AppState, Timeouts, router, serve};
use crate::metrics::Metrics;
use crate::service::{
    ConnectedConfig, LifecycleConfig, Service, ServiceConfig, ServiceError, SweepReport,
};
use crate::store::{Store, StoreError, StoreOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What `clearance serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on, such as `127.0.0.1:8080` (port 0 picks a free port).
    pub listen: String,
    /// Folder of the database file.
    pub data_dir: PathBuf,
    /// Folder of `*.cedar` files.
    pub policies_dir: PathBuf,
    /// The Cedar schema file.
    pub schema_path: PathBuf,
    /// Bootstrap admin token (`CLEARANCE_ADMIN_TOKEN`).
    pub admin_token: Option<String>,
    /// Timing of recertification, escalation and request expiry.
    pub lifecycle: LifecycleConfig,
    /// When audit checkpoints are signed, and how often the database file is made durable.
    pub store: StoreOptions,
    /// How often the server runs the lifecycle sweeps; `None` leaves them to
    /// `clearance sweep` or `POST /v1/sweeps/run`.
    pub sweep_every: Option<std::time::Duration>,
    /// Header-read, request and shutdown deadlines.
    pub timeouts: Timeouts,
    /// How often the worker looks for due connector jobs; `None` leaves them to the sweeps,
    /// `clearance sweep` and `POST /v1/jobs/run`.
    pub job_poll: Option<std::time::Duration>,
    /// How often drift runs compare connected groups with their grants; `None`: only on
    /// `POST /v1/drift/run`.
    pub drift_every: Option<std::time::Duration>,
    /// Connector calls.
    pub connected: ConnectedConfig,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The service could not start (for example, no valid policies).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Opens the store, runs the lifecycle sweeps once at the wall clock's now, then the
/// connector jobs that are due.
pub fn sweep_once(config: Config) -> Result<SweepReport, StartupError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| ServiceError::Unavailable)?;
    runtime.block_on(async {
        let service = Arc::new(start_service(&config, Arc::new(SystemClock))?);
        Ok(service.sweep_and_run_jobs().await?)
    })
}

fn start_service(config: &Config, clock: SharedClock) -> Result<Service, StartupError> {
    let store = Store::open_with(&config.data_dir, config.store.clone())?;
    let service_config = ServiceConfig {
        policies_dir: config.policies_dir.clone(),
        schema_path: config.schema_path.clone(),
        admin_token: config.admin_token.clone(),
        lifecycle: config.lifecycle.clone(),
        connected: config.connected.clone(),
    };
    Ok(Service::start(
        store,
        service_config,
        clock,
        Arc::new(Metrics::default()),
    )?)
}

/// A server ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    service: Arc<Service>,
    sweep_every: Option<std::time::Duration>,
    job_poll: Option<std::time::Duration>,
    drift_every: Option<std::time::Duration>,
    timeouts: Timeouts,
}

impl Application {
    /// Opens the store, activates policies and binds the listener.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartupError> {
        let started = config.clone();
        let service = tokio::task::spawn_blocking(move || start_service(&started, clock))
            .await
            .map_err(|_| ServiceError::Unavailable)??;
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    addr: config.listen.clone(),
                    source,
                })?;
        Ok(Self {
            listener,
            service: Arc::new(service),
            sweep_every: config.sweep_every,
            job_poll: config.job_poll,
            drift_every: config.drift_every,
            timeouts: config.timeouts,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the store.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeps = self
            .sweep_every
            .map(|every| tokio::spawn(sweep_loop(self.service.clone(), every)));
        let jobs = self
            .job_poll
            .map(|every| tokio::spawn(job_loop(self.service.clone(), every)));
        let drift = self
            .drift_every
            .map(|every| tokio::spawn(drift_loop(self.service.clone(), every)));
        let app = router(AppState::new(self.service), self.timeouts.request);
        serve(self.listener, app, self.timeouts, shutdown).await;
        for task in [sweeps, jobs, drift].into_iter().flatten() {
            task.abort();
        }
        Ok(())
    }
}

/// Runs the lifecycle sweeps every `every`, on the blocking pool; failures are logged and
/// the next tick tries again.
async fn sweep_loop(service: Arc<Service>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let service = service.clone();
        match tokio::task::spawn_blocking(move || service.run_sweeps()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "lifecycle sweep failed"),
            Err(e) => tracing::error!(error = %e, "lifecycle sweep task failed"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The worker: runs the due connector jobs, then the due Jira deliveries, every `every`;
/// failures are logged and the next tick tries again. Work cut off by shutdown was not
/// recorded and runs again after the restart.
async fn job_loop(service: Arc<Service>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = service.run_due_jobs().await {
            tracing::error!(error = %e, "connector jobs could not run");
        }
        if let Err(e) = service.run_due_deliveries().await {
            tracing::error!(error = %e, "Jira deliveries could not run");
        }
    }
}

/// Drift runs every `every`, the first one `every` after start.
async fn drift_loop(service: Arc<Service>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = service.run_drift().await {
            tracing::error!(error = %e, "drift run failed");
        }
    }
}
