use cached_core::cache;

#[cache(name = news)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
