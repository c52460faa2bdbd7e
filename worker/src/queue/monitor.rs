//! Running an apalis `Monitor` until a stop maplink can tell apart from a crash.
//!
//! `Monitor::run_with_signal` returns `Ok(())` both when the signal stopped it and when
//! its workers ended by themselves. The job source never ends a worker (it absorbs
//! store errors), so a worker that stops without a shutdown request is a bug, and
//! [`run_monitor`] reports it as [`RunError::Unexpected`]: the process then exits
//! non-zero and its supervisor restarts it, instead of idling with no one taking jobs.

use apalis::prelude::Monitor;
use futures::future::BoxFuture;
use maplink::shutdown::Shutdown;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("queue workers stopped: {0}")]
    Monitor(String),
    #[error("queue workers stopped without a shutdown request")]
    Unexpected,
}

/// Runs `monitor` until `shutdown`, then waits for its running jobs until they end or
/// `grace_over` resolves (apalis' terminator), whichever comes first.
pub async fn run_monitor(
    monitor: Monitor,
    grace_over: BoxFuture<'static, ()>,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.wait().await;
            Ok(())
        }
    };
    match monitor
        .with_terminator(grace_over)
        .run_with_signal(signal)
        .await
    {
        Err(e) => Err(RunError::Monitor(e.to_string())),
        Ok(()) if shutdown.is_triggered() => Ok(()),
        Ok(()) => Err(RunError::Unexpected),
    }
}
