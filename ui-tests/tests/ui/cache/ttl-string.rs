use cached_core::cache;

#[cache(ttl = "1h")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
