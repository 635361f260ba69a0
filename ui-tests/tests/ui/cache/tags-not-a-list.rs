use cached_core::cache;

#[cache(tags = "news")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
