use cached_core::cache;

const CAPACITY: usize = 100;

#[cache(capacity = CAPACITY)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
