use cached_core::cache;

#[cache]
fn f(x: u32) -> Option<impl std::fmt::Display> {
    Some(x)
}

fn main() {}
