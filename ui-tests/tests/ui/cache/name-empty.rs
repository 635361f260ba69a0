use cached_core::cache;

#[cache(name = "")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
