use cached_core::invalidates;

fn news_item(id: u32) -> u32 {
    id
}

#[invalidates(news_item(1))]
fn save() {}

fn main() {
    news_item(1);
}
