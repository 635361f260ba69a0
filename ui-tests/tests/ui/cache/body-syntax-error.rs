use cached_core::cache;

#[cache]
fn f(x: u32) -> u32 {
    let y = ;
    x
}

fn main() {}
