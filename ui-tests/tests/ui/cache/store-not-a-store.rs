use cached_core::cache;
use std::collections::HashMap;
use std::sync::LazyLock;

static STORE: LazyLock<HashMap<u32, u32>> = LazyLock::new(HashMap::new);

#[cache(store = STORE)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
