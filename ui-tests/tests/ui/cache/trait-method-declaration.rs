use cached_core::cache;

trait Repo {
    #[cache]
    fn user(&self, id: u32) -> String;
}

fn main() {}
