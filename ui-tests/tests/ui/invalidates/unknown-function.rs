use cached_core::invalidates;

#[invalidates(news_itme(1))]
fn save() {}

fn main() {}
