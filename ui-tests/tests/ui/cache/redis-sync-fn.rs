use cached_core::{cache, RedisStore};
use std::sync::LazyLock;

static REDIS: LazyLock<RedisStore> =
    LazyLock::new(|| RedisStore::new("redis://127.0.0.1:7000/").unwrap());

// Redis is reached with `.await`: a plain function cannot use it.
#[cache(store = REDIS)]
fn profile(id: u64) -> String {
    format!("user {id}")
}

fn main() {}
