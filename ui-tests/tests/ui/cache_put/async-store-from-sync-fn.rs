use cached_core::{cache, cache_put, RedisStore};
use std::sync::LazyLock;

static REDIS: LazyLock<RedisStore> =
    LazyLock::new(|| RedisStore::new("redis://127.0.0.1:7000/").unwrap());

#[cache(store = REDIS)]
async fn profile(id: u64) -> String {
    format!("user {id}")
}

// Writing an entry in Redis is awaited: the writing function must be async.
#[cache_put(profile(id))]
fn rename(id: u64, name: &str) -> Result<String, String> {
    Ok(name.to_owned())
}

fn main() {}
