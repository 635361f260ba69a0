use cached_core::cache;

struct Pool;

#[cache]
fn user(pool: &Pool, id: u64) -> String {
    let _ = pool;
    id.to_string()
}

fn main() {}
