//! One shutdown signal for a whole process: SIGINT or SIGTERM (or a test) triggers it,
//! and every part (HTTP server, workers, schedules) waits on a clone.

use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown { rx })
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been triggered (at once if it already has been, or if
    /// the trigger was dropped).
    pub async fn wait(mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn os_signal() {
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
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received");
}

/// A shutdown that SIGINT or SIGTERM triggers: what both binaries run until.
pub fn on_os_signal() -> Shutdown {
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        os_signal().await;
        trigger.trigger();
    });
    shutdown
}

/// How long a process's exit waits for blocking work still under way.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Runs a binary's `main` future on a multi-threaded runtime, then exits without
/// waiting for blocking work still under way: a run cancelled at the end of the
/// shutdown grace may still be on a blocking thread (it stops at its next row; reading
/// or writing a workbook does not look), but its session is fenced and its job handed
/// back, so the exit does not wait for it.
pub fn block_on_main<F: std::future::Future>(main: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(main);
    runtime.shutdown_timeout(EXIT_WAIT);
    Ok(result)
}
