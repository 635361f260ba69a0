use cached_core::entry;

fn main() {
    entry!(news_in).invalidate();
}
