use cached_core::cache;

#[cache(capacity = 0)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
