//! `ArmedInterval`: a poll strategy that never loses a wake-up.
//!
//! apalis' `IntervalStrategy` replaces its timer when it fires but does not poll the new
//! one, so the new timer never registers a waker; an idle worker then sleeps until its
//! next queue heartbeat (measured: 4 of 20 pickups stalled ~4 s). This strategy polls
//! the fresh timer at once, which arms it, so every interval wakes the worker.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::backend::ext::poll_strategy::{PollSnapshot, PollStrategy};
use futures_timer::Delay;

#[derive(Debug)]
pub struct ArmedInterval {
    every: Duration,
    delay: Option<Delay>,
}

impl ArmedInterval {
    pub fn new(every: Duration) -> Self {
        Self { every, delay: None }
    }
}

impl Clone for ArmedInterval {
    fn clone(&self) -> Self {
        Self::new(self.every)
    }
}

impl PollStrategy for ArmedInterval {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let every = self.every;
        let delay = self.delay.get_or_insert_with(|| Delay::new(every));
        match Pin::new(delay).poll(cx) {
            Poll::Ready(()) => {
                let mut next = Delay::new(every);
                // The whole point: poll the new timer so it holds this task's waker.
                let _ = Pin::new(&mut next).poll(cx);
                self.delay = Some(next);
                Poll::Ready(Some(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use apalis_core::backend::ext::poll_strategy::IntervalStrategy;
    use futures::task::{ArcWake, waker};

    use super::*;

    struct CountingWaker(AtomicUsize);

    impl ArcWake for CountingWaker {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Drives a strategy until it fires once, then leaves it alone: does the *next*
    /// interval still wake the task? If not, an idle worker sleeps until something
    /// else (its queue heartbeat) happens to poll it.
    fn wakes_again_after_firing(mut strategy: impl PollStrategy, every: Duration) -> bool {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = waker(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let snapshot = PollSnapshot::default();
        assert!(strategy.poll_drive(&mut cx, &snapshot).is_pending());
        std::thread::sleep(every * 3);
        assert_eq!(
            strategy.poll_drive(&mut cx, &snapshot),
            Poll::Ready(Some(()))
        );
        let before = counter.0.load(Ordering::SeqCst);
        std::thread::sleep(every * 4);
        counter.0.load(Ordering::SeqCst) > before
    }

    #[test]
    fn the_next_interval_wakes_the_worker() {
        let every = Duration::from_millis(30);
        assert!(wakes_again_after_firing(ArmedInterval::new(every), every));
    }

    /// The upstream behaviour this strategy exists for. If this starts failing, apalis
    /// has fixed `IntervalStrategy` and `ArmedInterval` can go.
    #[test]
    fn the_stock_interval_strategy_loses_that_wake_up() {
        let every = Duration::from_millis(30);
        assert!(!wakes_again_after_firing(
            IntervalStrategy::new(every),
            every
        ));
    }
}
