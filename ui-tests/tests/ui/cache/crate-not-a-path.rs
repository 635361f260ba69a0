use cached_core::cache;

#[cache(crate = "cached_core")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
