use cached_core::cache;

const TTL: u64 = 60;

#[cache(ttl = TTL)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
