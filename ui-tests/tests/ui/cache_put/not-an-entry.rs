use cached_core::cache_put;

#[cache_put(title)]
fn rename(id: u32) {}

fn main() {}
