use cached_core::cache;

struct Page;

#[cache]
fn render(id: u64) -> Page {
    let _ = id;
    Page
}

fn main() {}
