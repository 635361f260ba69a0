// The handle of a function without `#[cache]`, used as the real ones are: only the missing
// `#[cache]` is reported.
mod catalog {
    pub fn price(id: u32) -> u64 {
        u64::from(id)
    }
}

async fn handles() {
    assert!(cached_core::entry!(catalog::price(1)).invalidate());
    assert_eq!(cached_core::entries!(catalog::price).invalidate(), 1);
    cached_core::entries!(catalog::price).invalidate().await;
}

fn main() {
    catalog::price(1);
    drop(handles());
}
