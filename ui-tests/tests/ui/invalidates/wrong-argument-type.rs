use cached_core::{cache, invalidates};

#[cache]
fn news_item(id: u32) -> u32 {
    id
}

#[invalidates(news_item("7"))]
fn save() {}

fn main() {}
