use cached_core::invalidates;

#[invalidates()]
fn save() {}

fn main() {}
