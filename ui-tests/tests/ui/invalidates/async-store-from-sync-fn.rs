use cached_core::{cache, invalidates, RedisStore};
use std::sync::LazyLock;

static REDIS: LazyLock<RedisStore> =
    LazyLock::new(|| RedisStore::new("redis://127.0.0.1:7000/").unwrap());

#[cache(store = REDIS)]
async fn profile(id: u64) -> String {
    format!("user {id}")
}

// Invalidating an entry in Redis is awaited: the invalidating function must be async.
#[invalidates(profile(id))]
fn rename(id: u64) -> Result<(), String> {
    Ok(())
}

fn main() {}
