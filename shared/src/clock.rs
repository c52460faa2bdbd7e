//! The time the session rules read: the system clock in the service, a clock a test
//! moves by hand so that a two-hour TTL can pass without two hours of waiting.
//!
//! Every rule that compares a session's timestamps with "now" — touching, expiry,
//! claiming expired sessions, the cleanup report's ages — asks the [`Clock`] it was
//! given, never the wall clock directly. Timers (how often the cleanup runs, heartbeat
//! intervals) stay on the runtime's own time: a test advances the clock, and the next
//! sweep sees the sessions as old as the clock says.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

/// Milliseconds since the Unix epoch, from the system or from a hand-moved counter.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: an offset in milliseconds added to it, which
    /// [`advance`](Self::advance) grows — time still flows, just further ahead.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that runs with the system clock and can be moved ahead by hand (tests).
    pub fn adjustable() -> Self {
        Self {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let offset = self
            .offset_ms
            .as_ref()
            .map_or(0, |o| o.load(Ordering::Acquire));
        crate::domain::now_ms() + offset
    }

    /// Moves an adjustable clock (and every copy of it) ahead by `by`.
    ///
    /// # Panics
    /// On the system clock: moving it is a mistake in the caller, not something to
    /// ignore quietly.
    pub fn advance(&self, by: Duration) {
        let offset = self
            .offset_ms
            .as_ref()
            .expect("only an adjustable clock can be moved");
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        offset.fetch_add(by, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_every_copy_ahead() {
        let clock = Clock::adjustable();
        let copy = clock.clone();
        let before = copy.now_ms();
        clock.advance(Duration::from_secs(7200));
        let after = copy.now_ms();
        assert!(after - before >= 7_200_000, "{before} → {after}");
        assert!(after - before < 7_260_000);
    }

    #[test]
    fn the_system_clock_is_the_wall_clock() {
        let system = Clock::system().now_ms();
        assert!((system - crate::domain::now_ms()).abs() < 1000);
    }
}
