use cached_core::invalidates;

#[invalidates("news_item")]
fn save() {}

fn main() {}
