use cached_core::{cache, cache_put};

#[cache]
fn title(id: u32) -> String {
    id.to_string()
}

#[cache_put(title(id))]
fn rename(id: u32) -> Result<usize, String> {
    Ok(id as usize)
}

fn main() {}
