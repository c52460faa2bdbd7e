//! The Lua scripts of the Redis queue: each atomic step of a job's life is one script.
//!
//! Keys (one hash tag, so that a cluster keeps them in one slot):
//! - `{q}:stream` — ready and running jobs; consumer group `workers`. An entry holds
//!   `t` (task id), `p` (payload), `a` (attempts used), `h` (hand-backs by stopping
//!   workers; absent means 0), `q` (first enqueued, ms) and `e` (the last error, if
//!   any). Entries are deleted when their delivery ends.
//! - `{q}:ids` — task id → where the job is (`s <entry id>` or `delayed`), for
//!   de-duplication and "is it still queued"; removed when the job ends.
//! - `{q}:delayed` — retries waiting for their time; score = due ms, member = the job
//!   as JSON.
//! - `{q}:done` — a stream of done-job records, trimmed by age and count.
//! - `{q}:dead`, `{q}:dead:jobs` — dead jobs (score = when) and their records, trimmed
//!   by count.
//!
//! A delivery is current while its entry is in the group's pending list: `XACK`
//! returns 1 only then. Taking a job back from a lapsed lease deletes the entry and
//! adds a new one, so the old delivery's late finish finds nothing to acknowledge and
//! changes nothing.

use std::sync::LazyLock;

use redis::Script;

/// Shared by the scripts that put a delivered entry back: acknowledges and deletes
/// the entry and adds its job again as a new entry (a new delivery), with `bump` more
/// attempts, `handed` more hand-backs and `err` as the last error when given. Returns
/// 1, or 0 if the entry was already gone from the stream.
const REQUEUE_FN: &str = r#"
local function requeue(stream, ids, group, entry, bump, handed, err)
  local found = redis.call('XRANGE', stream, entry, entry)
  redis.call('XACK', stream, group, entry)
  if #found == 0 then return 0 end
  local f, h = found[1][2], {}
  for k = 1, #f, 2 do h[f[k]] = f[k + 1] end
  redis.call('XDEL', stream, entry)
  local id = redis.call('XADD', stream, '*', 't', h.t, 'p', h.p, 'a', tonumber(h.a) + bump,
    'h', tonumber(h.h or '0') + handed, 'q', h.q, 'e', err or h.e or '')
  redis.call('HSET', ids, h.t, 's ' .. id)
  return 1
end
"#;

/// A script whose body may call `requeue` (see [`REQUEUE_FN`]).
fn with_requeue(body: &str) -> Script {
    Script::new(&format!("{REQUEUE_FN}{body}"))
}

/// KEYS: stream, ids. ARGV: now ms, then task id / payload pairs. Returns the number
/// added (task ids already queued are skipped).
pub static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
    local id = redis.call('XADD', KEYS[1], '*', 't', ARGV[i], 'p', ARGV[i + 1], 'a', 0, 'q', ARGV[1])
    redis.call('HSET', KEYS[2], ARGV[i], 's ' .. id)
    n = n + 1
  end
end
return n
"#,
    )
});

/// KEYS: stream, ids, delayed, done, dead, dead jobs. ARGV: group, now ms, keep done ms,
/// keep done count, keep dead count, then 9 values per delivery: kind (`d` done, `r`
/// retry, `x` dead), entry id, task id, attempts, payload, delay ms, error, first
/// enqueued ms, hand-backs. Returns how many deliveries were current.
pub static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local group, now = ARGV[1], tonumber(ARGV[2])
-- ARGV[5], the dead list's bound, is applied by TRIM.
local keep_ms, keep_done = tonumber(ARGV[3]), tonumber(ARGV[4])
local current, done_added = 0, false
for i = 6, #ARGV, 9 do
  local kind, entry, task, att = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  -- Only the current delivery may end the job: XACK answers 0 for an entry that is
  -- no longer pending (taken back after its lease lapsed, or already acknowledged).
  if redis.call('XACK', KEYS[1], group, entry) == 1 then
    current = current + 1
    redis.call('XDEL', KEYS[1], entry)
    if kind == 'd' then
      redis.call('HDEL', KEYS[2], task)
      if keep_done > 0 then
        redis.call('XADD', KEYS[4], 'MAXLEN', '~', keep_done, '*', 't', task, 'a', att)
        done_added = true
      end
    elseif kind == 'r' then
      local job = cjson.encode({t = task, p = ARGV[i + 4], a = att, e = ARGV[i + 6], q = ARGV[i + 7],
        h = ARGV[i + 8]})
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[i + 5]), job)
      redis.call('HSET', KEYS[2], task, 'delayed')
    else
      redis.call('HDEL', KEYS[2], task)
      redis.call('ZADD', KEYS[5], now, task)
      redis.call('HSET', KEYS[6], task, cjson.encode({p = ARGV[i + 4], a = att, e = ARGV[i + 6], at = now}))
    end
  end
end
if done_added then
  redis.call('XTRIM', KEYS[4], 'MINID', '~', now - keep_ms)
end
return current
"#,
    )
});

/// KEYS: stream, ids, delayed. ARGV: group, now ms, lease ms, limit. Moves due retries
/// to the stream and takes back deliveries idle (unrenewed) for longer than the lease,
/// counting an attempt. Returns {promoted, reclaimed}.
pub static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    with_requeue(
        r#"
local group, now, lease, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local promoted, reclaimed = 0, 0
-- In chunks of `limit`: the caller repeats while a chunk comes back full.
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(due) do
  local j = cjson.decode(m)
  local id = redis.call('XADD', KEYS[1], '*', 't', j.t, 'p', j.p, 'a', j.a, 'h', j.h or 0,
    'q', j.q, 'e', j.e)
  redis.call('HSET', KEYS[2], j.t, 's ' .. id)
  redis.call('ZREM', KEYS[3], m)
  promoted = promoted + 1
end
local lapsed = redis.call('XPENDING', KEYS[1], group, 'IDLE', lease, '-', '+', limit)
for _, p in ipairs(lapsed) do
  reclaimed = reclaimed + requeue(KEYS[1], KEYS[2], group, p[1], 1, 0,
    'the worker running it stopped answering (lease lapsed)')
end
return {promoted, reclaimed}
"#,
    )
});

/// KEYS: stream, ids. ARGV: group, consumer, then the entry ids it keeps. Puts the
/// consumer's other pending entries back as new entries (a hand-back counted, no
/// attempt), then deletes the consumer if it holds nothing. Returns how many went back.
pub static HAND_BACK: LazyLock<Script> = LazyLock::new(|| {
    with_requeue(
        r#"
local group, consumer = ARGV[1], ARGV[2]
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
local back, kept = 0, 0
local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', 10000, consumer)
for _, p in ipairs(pending) do
  if keep[p[1]] then
    kept = kept + 1
  else
    back = back + requeue(KEYS[1], KEYS[2], group, p[1], 0, 1, nil)
  end
end
if kept == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, consumer) end
return back
"#,
    )
});

/// KEYS and the first five ARGV as for [`FINISH`], then: idle consumer ms. Exact
/// trims (the per-finish one of done records is approximate), the dead list cut to
/// its bound, and consumers idle past the limit with nothing pending are deleted
/// (in one script, so none can take a delivery between the check and the delete).
pub static TRIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local group, now = ARGV[1], tonumber(ARGV[2])
local keep_ms, keep_done, keep_dead, idle_max = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('XTRIM', KEYS[4], 'MINID', now - keep_ms)
  redis.call('XTRIM', KEYS[4], 'MAXLEN', keep_done)
end
local over = redis.call('ZCARD', KEYS[5]) - keep_dead
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[5], 0, over - 1)
  for _, t in ipairs(old) do redis.call('HDEL', KEYS[6], t) end
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, over - 1)
end
local removed = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], group)
  for _, c in ipairs(consumers) do
    local h = {}
    for k = 1, #c, 2 do h[c[k]] = c[k + 1] end
    if tonumber(h['pending']) == 0 and tonumber(h['idle']) > idle_max then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, h['name'])
      removed = removed + 1
    end
  end
end
return removed
"#,
    )
});

/// KEYS: stream, delayed, done, dead. ARGV: group, now ms. Returns {pending, scheduled,
/// running, done, dead, oldest pending age ms}.
pub static STATS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local group, now = ARGV[1], tonumber(ARGV[2])
local len, running, last = 0, 0, '0-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  len = redis.call('XLEN', KEYS[1])
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local h = {}
    for k = 1, #g, 2 do h[g[k]] = g[k + 1] end
    if h['name'] == group then
      running = tonumber(h['pending'])
      last = h['last-delivered-id']
    end
  end
end
local oldest = 0
-- Entries after the group's last delivered id have not been delivered: the first is
-- the oldest waiting job.
local next = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
if #next > 0 then
  local f = next[1][2]
  for k = 1, #f, 2 do
    if f[k] == 'q' then oldest = math.max(0, now - tonumber(f[k + 1])) end
  end
end
return {len - running, redis.call('ZCARD', KEYS[2]), running, redis.call('XLEN', KEYS[3]),
  redis.call('ZCARD', KEYS[4]), oldest}
"#,
    )
});

/// KEYS: stream, ids, dead, dead jobs. ARGV: dead task id, now ms, new task id, new
/// payload. Returns 1 if the dead job was there (and is now queued anew), else 0.
pub static REQUEUE_DEAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then
  local id = redis.call('XADD', KEYS[1], '*', 't', ARGV[3], 'p', ARGV[4], 'a', 0, 'q', ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[3], 's ' .. id)
end
return 1
"#,
    )
});
