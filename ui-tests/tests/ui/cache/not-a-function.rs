use cached_core::cache;

#[cache]
struct Page {
    id: u32,
}

fn main() {}
