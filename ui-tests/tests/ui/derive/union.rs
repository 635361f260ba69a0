use cached_core::CacheKey;

#[derive(CacheKey)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
