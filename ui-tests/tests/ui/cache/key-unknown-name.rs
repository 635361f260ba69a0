use cached_core::cache;

#[cache(key = idd)]
fn f(id: u32) -> u32 {
    id
}

fn main() {}
