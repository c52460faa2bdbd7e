//! The limit's arithmetic, the generic cell rate algorithm (GCRA), and the bucket it
//! keeps in the process ([`LocalRates`]).
//!
//! A limit of `n` a minute is a bucket of `n` that refills one every `T = 60 s / n`.
//! GCRA keeps that bucket as one number per client: the *theoretical arrival time*
//! (TAT), when the bucket would be full again. A request at `now` is allowed when
//! `TAT - now <= (n - 1)·T` (the burst tolerance), and then moves the TAT `T` later
//! (from `now` if it lay in the past); otherwise it waits `TAT - (n - 1)·T - now`.
//! This admits exactly what a token bucket of `n` refilled at `n/60` a second admits,
//! but needs one stored number and no refill step, so the Redis version is one short
//! script ([`super::redis`]), and a TAT in the past means a full bucket: the entry can
//! simply vanish.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{Client, Kind};

/// `n` requests a minute: a burst of `n`, then one every `60 s / n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    per_minute: u32,
}

impl Rate {
    /// `None` for 0, which means no limit.
    pub fn per_minute(n: u32) -> Option<Self> {
        (n > 0).then_some(Self { per_minute: n })
    }

    /// `T`: the time between two requests at the sustained rate.
    pub fn interval(self) -> Duration {
        Duration::from_secs(60) / self.per_minute
    }

    /// `(n - 1)·T`: how far ahead of now the TAT may run and a request still pass.
    pub fn tolerance(self) -> Duration {
        self.interval() * (self.per_minute - 1)
    }
}

/// Whether a request may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    Allowed,
    /// Over the limit; one more request is allowed after `wait`.
    Refused {
        wait: Duration,
    },
}

impl Taken {
    /// One GCRA step for a bucket whose TAT is `tat` (`None`: full), at `now`; returns
    /// the answer and the new TAT (unchanged when refused).
    fn step(tat: Option<Instant>, now: Instant, rate: Rate) -> (Self, Option<Instant>) {
        let tat = tat.map_or(now, |t| t.max(now));
        let ahead = tat - now;
        if ahead > rate.tolerance() {
            let wait = ahead - rate.tolerance();
            return (Self::Refused { wait }, Some(tat));
        }
        (Self::Allowed, Some(tat + rate.interval()))
    }
}

/// Buckets kept before the full ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// The buckets of one process: embedded mode's limiter, and distributed mode's when
/// Redis does not answer.
#[derive(Default)]
pub struct LocalRates {
    /// The TAT of each bucket. One lock for all: a step is a few comparisons, and
    /// holding it across the read and the write is what makes the step atomic.
    tats: Mutex<HashMap<(Client, Kind), Instant>>,
}

impl LocalRates {
    pub fn take(&self, client: Client, kind: Kind, rate: Rate) -> Taken {
        self.take_at(client, kind, rate, Instant::now())
    }

    fn take_at(&self, client: Client, kind: Kind, rate: Rate, now: Instant) -> Taken {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        if tats.len() > PRUNE_ABOVE {
            // A TAT in the past is a full bucket, the same as no entry.
            tats.retain(|_, tat| *tat > now);
        }
        let (taken, tat) = Taken::step(tats.get(&(client, kind)).copied(), now, rate);
        if let Some(tat) = tat {
            tats.insert((client, kind), tat);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: u8) -> Client {
        Client::V4(std::net::Ipv4Addr::new(192, 0, 2, n))
    }

    #[test]
    fn a_burst_of_the_limit_passes_then_each_request_waits_one_interval_more() {
        let rates = LocalRates::default();
        let rate = Rate::per_minute(3).unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(
                rates.take_at(client(1), Kind::Upload, rate, start),
                Taken::Allowed
            );
        }
        assert_eq!(
            rates.take_at(client(1), Kind::Upload, rate, start),
            Taken::Refused {
                wait: Duration::from_secs(20)
            }
        );
        // A refusal costs nothing: 20 s later exactly one more passes.
        let later = start + Duration::from_secs(20);
        assert_eq!(
            rates.take_at(client(1), Kind::Upload, rate, later),
            Taken::Allowed
        );
        assert_eq!(
            rates.take_at(client(1), Kind::Upload, rate, later),
            Taken::Refused {
                wait: Duration::from_secs(20)
            }
        );
        // A minute idle refills the whole burst.
        let idle = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(
                rates.take_at(client(1), Kind::Upload, rate, idle),
                Taken::Allowed
            );
        }
    }

    #[test]
    fn kinds_and_clients_have_their_own_buckets() {
        let rates = LocalRates::default();
        let rate = Rate::per_minute(1).unwrap();
        let now = Instant::now();
        assert_eq!(
            rates.take_at(client(1), Kind::Upload, rate, now),
            Taken::Allowed
        );
        assert!(matches!(
            rates.take_at(client(1), Kind::Upload, rate, now),
            Taken::Refused { .. }
        ));
        assert_eq!(
            rates.take_at(client(1), Kind::Process, rate, now),
            Taken::Allowed
        );
        assert_eq!(
            rates.take_at(client(2), Kind::Upload, rate, now),
            Taken::Allowed
        );
    }

    #[test]
    fn full_buckets_are_dropped_when_there_are_many() {
        let rates = LocalRates::default();
        let rate = Rate::per_minute(60).unwrap();
        let start = Instant::now();
        for n in 0..=PRUNE_ABOVE as u32 {
            let c = Client::V4(std::net::Ipv4Addr::from(n));
            rates.take_at(c, Kind::Upload, rate, start);
        }
        // Every bucket refilled a second later; the next request sweeps them away.
        rates.take_at(
            client(1),
            Kind::Upload,
            rate,
            start + Duration::from_secs(2),
        );
        assert_eq!(rates.tats.lock().unwrap().len(), 1);
    }

    #[test]
    fn zero_is_no_limit() {
        assert_eq!(Rate::per_minute(0), None);
        assert_eq!(
            Rate::per_minute(1).unwrap().tolerance(),
            Duration::ZERO,
            "a limit of one allows one, then one a minute"
        );
    }
}
