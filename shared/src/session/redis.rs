//! Redis session store: a hash per session plus a sorted set scored by `last_seen_at`.
//!
//! Every key carries the `{maplink}` hash tag, so a script touching a session and the
//! index stays on one cluster slot. Each mutation that must be atomic (touch, start a
//! run, conditional update, claim) is one Lua script: Redis runs a script without
//! interleaving any other command, which is what makes "re-check expiry, then delete"
//! one step even with many cleaners.

use std::{collections::HashMap, sync::LazyLock, time::Duration};

use async_trait::async_trait;
use redis::{
    AsyncCommands, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::{Census, Delivery, ExpiredSession, SessionStore, StartRun, Update, UpdateOutcome};
use crate::{
    Error, Result,
    clock::Clock,
    domain::{Counts, Session, SessionId, Tombstone},
};

const INDEX: &str = "{maplink}:sessions:last_seen";
const SESSION_PREFIX: &str = "{maplink}:session:";
const TOMBSTONE_PREFIX: &str = "{maplink}:tombstone:";

fn session_key(id: SessionId) -> String {
    format!("{SESSION_PREFIX}{id}")
}

fn tombstone_key(id: SessionId) -> String {
    format!("{TOMBSTONE_PREFIX}{id}")
}

/// KEYS: session hash, index. ARGV: id, now. Returns the hash, or nil if gone.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSET', KEYS[1], 'last_seen_at_ms', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return redis.call('HGETALL', KEYS[1])
"#,
    )
});

/// KEYS: session hash, index. ARGV: id, now, job id, job id to replace ('' = none).
/// Returns {0} missing, {1, hash} started, {2, hash} busy.
static START_RUN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local status = redis.call('HGET', KEYS[1], 'status')
local stuck = status == 'queued' and ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'job_id') == ARGV[4]
if (status == 'queued' or status == 'processing') and not stuck then
  return {2, redis.call('HGETALL', KEYS[1])}
end
redis.call('HINCRBY', KEYS[1], 'attempt', 1)
redis.call('HSET', KEYS[1], 'status', 'queued', 'job_id', ARGV[3], 'progress', 0,
  'successful', 0, 'failed', 0, 'skipped', 0, 'last_seen_at_ms', ARGV[2])
redis.call('HDEL', KEYS[1], 'error', 'delivery')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
"#,
    )
});

/// KEYS: session hash, index. ARGV: id, now, only_run ('' = any), clear_error ('1'/'0'),
/// delivery check ('' none, 'c' claim, 'h' hold), delivery number, then field/value
/// pairs. Returns 0 missing, 1 applied, 2 stale.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[3] then return 2 end
if ARGV[5] ~= '' then
  local started = tonumber(redis.call('HGET', KEYS[1], 'delivery') or '0')
  local n = tonumber(ARGV[6])
  if ARGV[5] == 'c' then
    if started > n then return 2 end
    redis.call('HSET', KEYS[1], 'delivery', n)
  elseif started ~= n then
    return 2
  end
end
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], 'error') end
redis.call('HSET', KEYS[1], 'last_seen_at_ms', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"#,
    )
});

/// KEYS: index. ARGV: now, ttl ms, limit, tombstone ttl ms, session prefix, tombstone
/// prefix. Returns a flat list of hashes (each an array) of the claimed sessions.
static CLAIM_EXPIRED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[2])
-- The range query *is* the expiry check: it runs inside this script, so no touch can
-- slip in between checking a session and deleting it.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[5] .. id
  local fields = redis.call('HGETALL', key)
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', key)
  if #fields > 0 then
    local h = {}
    for i = 1, #fields, 2 do h[fields[i]] = fields[i + 1] end
    local idle = tonumber(ARGV[1]) - tonumber(h['last_seen_at_ms'] or ARGV[1])
    redis.call('SET', ARGV[6] .. id, ARGV[1] .. ' ' .. idle .. ' ' .. (h['status'] or 'uploaded'),
      'PX', tonumber(ARGV[4]))
    table.insert(out, fields)
  end
end
return out
"#,
    )
});

/// The `UPDATE` script call for `update`, at `now_ms`.
fn update_invocation(
    id: SessionId,
    update: &Update,
    now_ms: i64,
) -> redis::ScriptInvocation<'static> {
    let mut inv = UPDATE.prepare_invoke();
    inv.key(session_key(id))
        .key(INDEX)
        .arg(id.to_string())
        .arg(now_ms)
        .arg(update.only_run.map(|r| r.to_string()).unwrap_or_default())
        .arg(if matches!(update.error, Some(None)) {
            "1"
        } else {
            "0"
        });
    match update.delivery {
        None => inv.arg("").arg(0),
        Some(Delivery::Claim(n)) => inv.arg("c").arg(n),
        Some(Delivery::Hold(n)) => inv.arg("h").arg(n),
    };
    if let Some(status) = update.status {
        inv.arg("status").arg(status.as_str());
    }
    if let Some(p) = update.progress {
        inv.arg("progress").arg(p);
    }
    if let Some(c) = update.counts {
        inv.arg("successful").arg(c.successful);
        inv.arg("failed").arg(c.failed);
        inv.arg("skipped").arg(c.skipped);
    }
    if let Some(Some(e)) = &update.error {
        inv.arg("error").arg(e);
    }
    inv
}

/// KEYS: index. ARGV: cutoff, limit, session prefix. Returns {id, job id, …} of queued
/// sessions last seen before the cutoff.
static QUEUED_IDLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, id in ipairs(ids) do
  local st = redis.call('HMGET', ARGV[3] .. id, 'status', 'job_id')
  if st[1] == 'queued' and st[2] and st[2] ~= '' then
    table.insert(out, id); table.insert(out, st[2])
    if #out >= 2 * tonumber(ARGV[2]) then break end
  end
end
return out
"#,
    )
});

/// KEYS: index. ARGV: session prefix. Returns {oldest score or false, status, count, …}.
/// O(sessions) inside Redis; live sessions are bounded by the TTL.
static CENSUS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local counts = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local st = redis.call('HGET', ARGV[1] .. id, 'status')
  if st then counts[st] = (counts[st] or 0) + 1 end
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local out = { oldest[2] or false }
for st, n in pairs(counts) do table.insert(out, st); table.insert(out, n) end
return out
"#,
    )
});

/// A connection for a process that answers requests (the API): every command, and every
/// attempt to (re)connect, gives up after `timeout`.
///
/// The manager's default retries a lost connection six times with exponential backoff,
/// and every command waits for that whole reconnect: with Redis down, each request
/// took ~10 s (twice that when retried) to fail. Here a reconnect is one attempt,
/// started by the command that found the connection dead; the next command starts the
/// next attempt, so the connection comes back by itself once Redis does, and no request
/// waits longer than `timeout` for a connection that is not there.
pub async fn connect_fail_fast(url: &str, timeout: Duration) -> Result<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(0);
    let client = redis::Client::open(url)?;
    Ok(client.get_connection_manager_with_config(config).await?)
}

#[derive(Clone)]
pub struct RedisSessionStore {
    conn: ConnectionManager,
    clock: Clock,
}

impl RedisSessionStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        Ok(Self::from_connection(conn))
    }

    pub fn from_connection(conn: ConnectionManager) -> Self {
        Self {
            conn,
            clock: Clock::system(),
        }
    }

    /// The same store reading `clock` for "now" (tests move it to pass a TTL).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// Sends a request whose repetition is harmless; if it failed because the
    /// connection had dropped (a Redis restart, a killed client), the manager has
    /// reconnected by the time it is sent once more. A timeout is not retried: Redis
    /// (or the way to it) is hanging, and the caller has already waited its share. Not
    /// for `start_run`: a reply lost after the script ran would make the retry report a
    /// conflict for a run that did start.
    async fn idempotent<T, F, Fut>(&self, request: F) -> redis::RedisResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match request(self.conn.clone()).await {
            Err(e) if (e.is_connection_dropped() || e.is_io_error()) && !e.is_timeout() => {
                tracing::debug!(error = %e, "redis connection dropped; retrying once");
                request(self.conn.clone()).await
            }
            other => other,
        }
    }
}

fn to_fields(s: &Session) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("id", s.id.to_string()),
        ("original_filename", s.original_filename.clone()),
        ("sanitized_filename", s.sanitized_filename.clone()),
        ("format", s.format.extension().to_owned()),
        ("status", s.status.as_str().to_owned()),
        ("created_at_ms", s.created_at_ms.to_string()),
        ("last_seen_at_ms", s.last_seen_at_ms.to_string()),
        ("map_column", s.map_column.clone()),
        ("total_rows", s.total_rows.to_string()),
        ("successful", s.counts.successful.to_string()),
        ("failed", s.counts.failed.to_string()),
        ("skipped", s.counts.skipped.to_string()),
        ("progress", s.progress.to_string()),
        ("job_id", s.job_id.clone().unwrap_or_default()),
        ("attempt", s.attempt.to_string()),
    ];
    if let Some(e) = &s.error {
        f.push(("error", e.clone()));
    }
    if let Some(o) = &s.owner {
        f.push(("owner", o.clone()));
    }
    f
}

fn from_fields(mut h: HashMap<String, String>) -> Result<Session> {
    fn take(h: &mut HashMap<String, String>, k: &str) -> Result<String> {
        h.remove(k)
            .ok_or_else(|| Error::Corrupt(format!("session hash lacks {k}")))
    }
    fn num<T: std::str::FromStr>(h: &mut HashMap<String, String>, k: &str) -> Result<T> {
        let v = take(h, k)?;
        v.parse()
            .map_err(|_| Error::Corrupt(format!("session field {k}={v:?} is not a number")))
    }
    Ok(Session {
        id: take(&mut h, "id")?
            .parse()
            .map_err(|_| Error::Corrupt("bad session id".into()))?,
        original_filename: take(&mut h, "original_filename")?,
        sanitized_filename: take(&mut h, "sanitized_filename")?,
        format: take(&mut h, "format")?.parse()?,
        status: take(&mut h, "status")?.parse()?,
        created_at_ms: num(&mut h, "created_at_ms")?,
        last_seen_at_ms: num(&mut h, "last_seen_at_ms")?,
        map_column: take(&mut h, "map_column")?,
        total_rows: num(&mut h, "total_rows")?,
        counts: Counts {
            successful: num(&mut h, "successful")?,
            failed: num(&mut h, "failed")?,
            skipped: num(&mut h, "skipped")?,
        },
        progress: num(&mut h, "progress")?,
        error: h.remove("error"),
        job_id: h.remove("job_id").filter(|j| !j.is_empty()),
        attempt: num(&mut h, "attempt")?,
        owner: h.remove("owner"),
    })
}

/// Decodes an `HGETALL` reply given as an array of alternating fields and values.
fn hash_from_value(v: redis::Value) -> Result<Option<Session>> {
    let h: HashMap<String, String> =
        redis::from_redis_value(v).map_err(|e| Error::Corrupt(e.to_string()))?;
    if h.is_empty() {
        return Ok(None);
    }
    from_fields(h).map(Some)
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, session: &Session) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(session_key(session.id), &to_fields(session))
            .ignore()
            .zadd(INDEX, session.id.to_string(), session.last_seen_at_ms)
            .ignore();
        self.idempotent(|mut conn| {
            let pipe = pipe.clone();
            async move { pipe.query_async::<()>(&mut conn).await }
        })
        .await?;
        Ok(())
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>> {
        let key = session_key(id);
        let h: HashMap<String, String> = self
            .idempotent(|mut conn| {
                let key = key.clone();
                async move { conn.hgetall(key).await }
            })
            .await?;
        if h.is_empty() {
            return Ok(None);
        }
        from_fields(h).map(Some)
    }

    async fn touch(&self, id: SessionId) -> Result<Option<Session>> {
        let v: redis::Value = self
            .idempotent(|mut conn| async move {
                TOUCH
                    .key(session_key(id))
                    .key(INDEX)
                    .arg(id.to_string())
                    .arg(self.clock.now_ms())
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        if matches!(v, redis::Value::Nil) {
            return Ok(None);
        }
        hash_from_value(v)
    }

    async fn start_run(
        &self,
        id: SessionId,
        job_id: &str,
        replacing: Option<&str>,
    ) -> Result<StartRun> {
        let mut conn = self.conn.clone();
        let v: Vec<redis::Value> = START_RUN
            .key(session_key(id))
            .key(INDEX)
            .arg(id.to_string())
            .arg(self.clock.now_ms())
            .arg(job_id)
            .arg(replacing.unwrap_or_default())
            .invoke_async(&mut conn)
            .await?;
        let mut it = v.into_iter();
        let code: i64 = match it.next() {
            Some(c) => redis::from_redis_value(c).map_err(|e| Error::Corrupt(e.to_string()))?,
            None => return Err(Error::Corrupt("empty start_run reply".into())),
        };
        let session = match it.next() {
            Some(h) => hash_from_value(h)?,
            None => None,
        };
        Ok(match (code, session) {
            (1, Some(s)) => StartRun::Started(s),
            (2, Some(s)) => StartRun::Busy(s),
            _ => StartRun::Missing,
        })
    }

    async fn update(&self, id: SessionId, update: &Update) -> Result<UpdateOutcome> {
        let now = self.clock.now_ms();
        let code: i64 = self
            .idempotent(|mut conn| async move {
                update_invocation(id, update, now)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(match code {
            1 => UpdateOutcome::Applied,
            2 => UpdateOutcome::Stale,
            _ => UpdateOutcome::Missing,
        })
    }

    async fn delete(&self, id: SessionId) -> Result<bool> {
        let (deleted, _): (u64, u64) = self
            .idempotent(|mut conn| async move {
                redis::pipe()
                    .atomic()
                    .del(session_key(id))
                    .zrem(INDEX, id.to_string())
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(deleted > 0)
    }

    async fn list_expired(&self, ttl_ms: i64) -> Result<Vec<SessionId>> {
        let cutoff = self.clock.now_ms() - ttl_ms;
        let ids: Vec<String> = self
            .idempotent(|mut conn| async move {
                conn.zrangebyscore(INDEX, "-inf", format!("({cutoff}"))
                    .await
            })
            .await?;
        Ok(ids.iter().filter_map(|i| i.parse().ok()).collect())
    }

    async fn claim_expired(
        &self,
        ttl_ms: i64,
        limit: usize,
        tombstone_ttl_ms: i64,
    ) -> Result<Vec<ExpiredSession>> {
        let now = self.clock.now_ms();
        // A retry after a lost reply can only miss sessions the first call deleted;
        // their files are then left to the orphan sweep.
        let hashes: Vec<redis::Value> = self
            .idempotent(|mut conn| async move {
                CLAIM_EXPIRED
                    .key(INDEX)
                    .arg(now)
                    .arg(ttl_ms)
                    .arg(limit.max(1))
                    .arg(tombstone_ttl_ms.max(1))
                    .arg(SESSION_PREFIX)
                    .arg(TOMBSTONE_PREFIX)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            match hash_from_value(h) {
                Ok(Some(session)) => out.push(ExpiredSession {
                    session,
                    claimed_at_ms: now,
                }),
                Ok(None) => {}
                // Already deleted by the script: report and go on with the others.
                Err(e) => tracing::warn!(error = %e, "claimed a corrupt session record"),
            }
        }
        Ok(out)
    }

    async fn tombstone(&self, id: SessionId) -> Result<Option<Tombstone>> {
        let v: Option<String> = self
            .idempotent(|mut conn| async move { conn.get(tombstone_key(id)).await })
            .await?;
        let Some(v) = v else { return Ok(None) };
        let mut parts = v.split(' ');
        let (Some(at), Some(idle), Some(status)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Corrupt(format!("tombstone {v:?}")));
        };
        let num = |s: &str| {
            s.parse::<i64>()
                .map_err(|_| Error::Corrupt(format!("tombstone {v:?}")))
        };
        Ok(Some(Tombstone {
            id,
            expired_at_ms: num(at)?,
            idle_ms: num(idle)?,
            status: status.parse()?,
        }))
    }

    async fn queued_idle(&self, idle_ms: i64, limit: usize) -> Result<Vec<(SessionId, String)>> {
        let cutoff = self.clock.now_ms() - idle_ms;
        let flat: Vec<String> = self
            .idempotent(|mut conn| async move {
                QUEUED_IDLE
                    .key(INDEX)
                    .arg(cutoff)
                    .arg(limit.max(1))
                    .arg(SESSION_PREFIX)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(flat
            .chunks(2)
            .filter_map(|pair| Some((pair.first()?.parse().ok()?, pair.get(1)?.clone())))
            .collect())
    }

    async fn census(&self) -> Result<Census> {
        let reply: Vec<redis::Value> = self
            .idempotent(|mut conn| async move {
                CENSUS
                    .key(INDEX)
                    .arg(SESSION_PREFIX)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        let mut census = Census::default();
        for status in crate::domain::SessionStatus::ALL {
            census.by_status.insert(status.as_str().to_owned(), 0);
        }
        let mut it = reply.into_iter();
        census.oldest_last_seen_ms = it
            .next()
            .and_then(|v| redis::from_redis_value::<String>(v).ok())
            .and_then(|s| s.parse::<f64>().ok())
            .map(|f| f as i64);
        while let (Some(st), Some(n)) = (it.next(), it.next()) {
            let st: String =
                redis::from_redis_value(st).map_err(|e| Error::Corrupt(e.to_string()))?;
            let n: u64 = redis::from_redis_value(n).map_err(|e| Error::Corrupt(e.to_string()))?;
            census.by_status.insert(st, n);
        }
        Ok(census)
    }

    async fn ping(&self) -> Result<()> {
        self.idempotent(|mut conn| async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await?;
        Ok(())
    }
}
