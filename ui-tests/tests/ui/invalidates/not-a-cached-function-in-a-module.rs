use cached_core::invalidates;

mod news {
    pub fn headline(id: u32) -> String {
        format!("news #{id}")
    }
}

#[invalidates(news::headline(1))]
fn save() {}

fn main() {
    news::headline(1);
}
