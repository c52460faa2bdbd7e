//! The attempts cap: how many deliveries of a job may run before it is given up.
//!
//! apalis' own retry policy (its `RetryLayer`) retries inside one delivery and never
//! sees a delivery that did not finish (its worker killed or frozen, its lease lapsed
//! and the job put back). The job store counts attempts across deliveries instead
//! (a hand-back is not an attempt), and apalis hands that count to the handler as
//! [`Attempt`]; the cap is applied to it here. A handler asks [`Budget::of`] before it
//! runs and ends a job for good with [`give_up`], an `AbortError`, which the
//! acknowledging layer ([`super::ack`]) sends to the dead list instead of retrying.

use apalis::prelude::{AbortError, Attempt, BoxDynError};

/// Where a delivery stands against the cap of `max` attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Attempts remain after this one: a failure is retried.
    Retry,
    /// This is the last attempt: a failure is final.
    Last,
    /// Used up before this delivery began (the last attempt's worker died running
    /// it): the job is given up without running again.
    Spent,
}

impl Budget {
    pub fn of(attempt: &Attempt, max: usize) -> Self {
        Self::count(attempt.current(), max)
    }

    fn count(current: usize, max: usize) -> Self {
        match current.cmp(&max) {
            std::cmp::Ordering::Less => Self::Retry,
            std::cmp::Ordering::Equal => Self::Last,
            std::cmp::Ordering::Greater => Self::Spent,
        }
    }
}

/// The error that ends a job for good: to the dead list with `reason`, no retry.
pub fn give_up(reason: String) -> BoxDynError {
    AbortError::new(reason).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_attempt_is_the_cap_and_any_later_one_is_spent() {
        let of = |current| Budget::count(current, 3);
        assert_eq!(
            [of(1), of(2), of(3), of(4), of(9)],
            [
                Budget::Retry,
                Budget::Retry,
                Budget::Last,
                Budget::Spent,
                Budget::Spent
            ]
        );
    }
}
