use cached_core::cache;

#[cache(ttl = -5)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
