mod catalog {
    pub fn price(id: u32) -> u64 {
        u64::from(id)
    }
}

fn main() {
    catalog::price(1);
    cached_core::entry!(catalog::price(1)).invalidate();
    cached_core::entries!(catalog::price).invalidate();
}
