use cached_core::cache;

#[cache(unless = |v: &String| v.len())]
fn f(x: u32) -> String {
    x.to_string()
}

fn main() {}
