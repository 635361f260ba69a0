use cached_core::cache;

struct Repo;

#[cache(ttl = 60)]
impl Repo {
    #[cache]
    fn name(&self, id: u32) -> String {
        id.to_string()
    }
}

fn main() {}
