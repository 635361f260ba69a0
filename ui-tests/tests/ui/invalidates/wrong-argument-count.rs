use cached_core::{cache, invalidates};

#[cache]
fn news_in(category: u32, page: u32) -> Vec<u32> {
    vec![category, page]
}

#[invalidates(news_in(7))]
fn save() {}

fn main() {}
