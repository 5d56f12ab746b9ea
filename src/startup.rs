//! Building and running the server: configuration, store, service, listener.

use crate::clock::SharedClock;
use crate::http::{AppState, router};
use crate::metrics::Metrics;
use crate::service::{Service, ServiceConfig, ServiceError};
use crate::store::{Store, StoreError};
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

/// A server ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    service: Arc<Service>,
}

impl Application {
    /// Opens the store, activates policies and binds the listener.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartupError> {
        let store = Store::open(&config.data_dir)?;
        let service_config = ServiceConfig {
            policies_dir: config.policies_dir.clone(),
            schema_path: config.schema_path.clone(),
            admin_token: config.admin_token.clone(),
        };
        let metrics = Arc::new(Metrics::default());
        let service = tokio::task::spawn_blocking(move || {
            Service::start(store, service_config, clock, metrics)
        })
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
        let app = router(AppState::new(self.service));
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
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
