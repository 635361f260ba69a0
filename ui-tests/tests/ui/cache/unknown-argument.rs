use cached_core::cache;

#[cache(tll = 60)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
