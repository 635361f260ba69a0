use cached_core::{cache, cache_put};

#[cache]
fn title(id: u32) -> String {
    id.to_string()
}

#[cache_put(title(id) = id * 2)]
fn rename(id: u32) {}

fn main() {}
