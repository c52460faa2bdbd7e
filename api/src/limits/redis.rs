//! The buckets in Redis, shared by every API instance of a distributed deployment:
//! one GCRA step ([`super::gcra`]) per request, as one Lua script.
//!
//! Redis runs a script without interleaving other commands, so "read the TAT, decide,
//! write the TAT" is one step even with many instances asking for the same client at
//! once; nothing else makes two instances' requests count against one budget. The
//! clock is Redis' own (`TIME`), so instances whose clocks disagree still share one
//! timeline.
//!
//! Keys: `{maplink}:ratelimit:<kind>:<client>` (`upload` or `process`; `4-192.0.2.1`
//! or `6-20010db800000001`, an IPv6 /64), holding the TAT in microseconds. Each key
//! expires when its TAT passes: by then the bucket is full, the same as no key, so an
//! idle client leaves nothing behind.

use std::{sync::LazyLock, time::Duration};

use redis::{Script, aio::ConnectionManager};

use super::{
    Client, Kind,
    gcra::{Rate, Taken},
};

const PREFIX: &str = "{maplink}:ratelimit:";

fn key(client: Client, kind: Kind) -> String {
    let kind = match kind {
        Kind::Upload => "upload",
        Kind::Process => "process",
    };
    let client = match client {
        Client::V4(ip) => format!("4-{ip}"),
        Client::V6Net64(net) => format!("6-{net:016x}"),
    };
    format!("{PREFIX}{kind}:{client}")
}

/// KEYS: the bucket. ARGV: interval T and tolerance (n - 1)·T, in microseconds.
/// Returns 0 when allowed, else the microseconds to wait.
///
/// Times are microseconds since the epoch (about 1.7e15): exact in Lua's doubles, but
/// past the 14 digits Lua prints a number with, so the TAT is written with
/// `string.format('%.0f')` rather than handed to `SET` as a number.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - now - tolerance
end
tat = tat + interval
local ttl_ms = math.max(1, math.ceil((tat - now) / 1000))
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl_ms)
return 0
",
    )
});

/// The shared buckets, on the process's Redis connection.
#[derive(Clone)]
pub struct RedisRates {
    conn: ConnectionManager,
}

impl RedisRates {
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }

    /// One step of `client`'s bucket of `kind`. Not retried on a dropped connection: a
    /// script whose reply was lost may have taken its token already.
    pub async fn take(&self, client: Client, kind: Kind, rate: Rate) -> redis::RedisResult<Taken> {
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let wait: u64 = TAKE
            .key(key(client, kind))
            .arg(micros(rate.interval()))
            .arg(micros(rate.tolerance()))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(match wait {
            0 => Taken::Allowed,
            us => Taken::Refused {
                wait: Duration::from_micros(us),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_kind_and_the_client_under_the_maplink_prefix() {
        assert_eq!(
            key(Client::V4("192.0.2.1".parse().unwrap()), Kind::Upload),
            "{maplink}:ratelimit:upload:4-192.0.2.1"
        );
        let ip: std::net::IpAddr = "2001:db8:0:1::5".parse().unwrap();
        assert_eq!(
            key(Client::from(ip), Kind::Process),
            "{maplink}:ratelimit:process:6-20010db800000001"
        );
    }
}
