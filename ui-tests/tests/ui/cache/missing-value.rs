use cached_core::cache;

#[cache(ttl)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
