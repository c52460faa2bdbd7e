//! Promoting due scheduled tasks in chunks.
//!
//! apalis-redis pushes every task into `{q}:scheduled` and its fetch script promotes
//! *all* due ids with one `RPUSH` of `unpack(ids)`. Lua's unpack fails past ~8,000
//! values, so with that many due tasks every worker dies on its first fetch and the
//! queue is stuck. Running this script first, and every few seconds, keeps the due
//! backlog below that size: it moves at most `chunk` ids per call.

use std::sync::LazyLock;

use redis::{Script, aio::ConnectionManager};

/// KEYS: scheduled zset, active list, signal list. ARGV: now (s), chunk.
/// Returns how many ids were promoted.
static PROMOTE_DUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], 0, ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return 0 end
redis.call('RPUSH', KEYS[2], unpack(ids))
redis.call('ZREM', KEYS[1], unpack(ids))
redis.call('DEL', KEYS[3])
redis.call('LPUSH', KEYS[3], 1)
return #ids
"#,
    )
});

/// Promotes due tasks of `config`'s queue, `chunk` at a time, until none are left.
pub async fn promote_due(
    conn: &mut ConnectionManager,
    config: &apalis_redis::Config,
    chunk: usize,
) -> Result<u64, redis::RedisError> {
    let now = chrono::Utc::now().timestamp();
    let mut total = 0;
    loop {
        let moved: u64 = PROMOTE_DUE
            .key(config.scheduled_jobs_set())
            .key(config.active_jobs_list())
            .key(config.signal_list())
            .arg(now)
            .arg(chunk)
            .invoke_async(conn)
            .await?;
        total += moved;
        if moved < chunk as u64 {
            return Ok(total);
        }
    }
}
