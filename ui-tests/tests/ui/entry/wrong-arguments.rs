use cached_core::{cache, entry};

#[cache]
fn news_in(category: u32, page: u32) -> Vec<u32> {
    vec![category, page]
}

fn main() {
    entry!(news_in(7, "2")).invalidate();
}
