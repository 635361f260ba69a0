use cached_core::{cache, RedisStore};
use std::sync::LazyLock;

static REDIS: LazyLock<RedisStore> =
    LazyLock::new(|| RedisStore::new("redis://127.0.0.1:7000/").unwrap());

#[derive(Clone)]
struct Profile {
    name: String,
}

// A value kept in Redis is serialized: it must be `Serialize + DeserializeOwned`.
#[cache(store = REDIS)]
async fn profile(id: u64) -> Profile {
    Profile {
        name: format!("user {id}"),
    }
}

fn main() {}
