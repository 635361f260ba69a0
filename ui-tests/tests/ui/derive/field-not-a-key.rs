use cached_core::CacheKey;

#[derive(CacheKey)]
struct Point {
    x: f64,
    y: f64,
}

fn main() {}
