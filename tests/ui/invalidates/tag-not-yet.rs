use cached_core::invalidates;

#[invalidates(tag = "category:7")]
fn save() {}

fn main() {}
