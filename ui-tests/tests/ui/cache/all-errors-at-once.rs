use cached_core::cache;

#[cache(tll = 60, capacity = 0, name = 3, capacity = 5)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
