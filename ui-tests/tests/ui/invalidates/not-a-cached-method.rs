use cached_core::invalidates;

struct Repo;

impl Repo {
    fn profile(&self, id: u32) -> String {
        format!("user {id}")
    }

    #[invalidates(Self::profile(7))]
    fn rename(&self) {}
}

fn main() {
    Repo.profile(7);
    Repo.rename();
}
