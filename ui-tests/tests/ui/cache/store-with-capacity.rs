use cached_core::{cache, LruStore};
use std::sync::LazyLock;

static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));

#[cache(store = STORE, capacity = 10)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
