use cached_core::cache;

#[cache(tags = [category])]
fn news_in(category: u32, page: u32) -> Vec<u32> {
    vec![category, page]
}

fn main() {}
