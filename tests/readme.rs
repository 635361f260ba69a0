//! The README's Rust examples are pasted by newcomers into a new crate, as GitHub shows them.
//! They run as doc tests of cached-core (`ReadmeExamples` in cached-core/src/lib.rs); this file
//! checks what a doc test cannot: that GitHub shows the whole program.
//!
//! - No hidden line: rustdoc hides a line that is `#` or starts with `# ` (after indentation),
//!   GitHub shows it raw.
//! - Each example is a whole program, with `fn main`, unless its first line is a comment that
//!   starts with `// fragment` and says what it leaves out.
//! - Every crate an example names (`use x::`, `x::` paths, `#[tokio::main]`, `serde::`) is in the
//!   `[dependencies]` of the nearest ```toml block above it, with the features it needs.
//! - Each example is tested in the edition `cargo new` gives a newcomer's crate: its fence says
//!   `edition2024` (GitHub shows none of the words after `rust,`).
//! - Every code fence names its language: rustdoc tests a bare fence as Rust.

use std::collections::BTreeSet;

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));

/// A fenced block of the README: its info string, first line number and text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match open.as_mut() {
            None if fence => {
                open = Some(Block {
                    info: line.trim_start().trim_start_matches('`').trim().to_owned(),
                    line: number + 1,
                    text: String::new(),
                })
            }
            None => {}
            Some(_) if fence => blocks.extend(open.take()),
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
        }
    }
    assert!(open.is_none(), "README.md: a code fence is never closed");
    blocks
}

/// The language of a block: `rust` for ```rust,no_run.
fn language(block: &Block) -> &str {
    block.info.split([',', ' ']).next().unwrap_or("")
}

/// The `[dependencies]` of a ```toml block: each crate's name (as Rust names it) and its line.
fn dependencies(toml: &str) -> Vec<(String, String)> {
    let mut in_dependencies = false;
    let mut found = Vec::new();
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if let Some((name, _)) = line.split_once('=') {
            if in_dependencies {
                found.push((name.trim().replace('-', "_"), line.to_owned()));
            }
        }
    }
    found
}

/// The code without comments and string literals, where `x::` inside them means nothing.
fn code_only(rust: &str) -> String {
    let mut out = String::new();
    for line in rust.lines() {
        let mut in_string = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (in_string, c) {
                (true, '\\') => {
                    chars.next();
                }
                (true, '"') => in_string = false,
                (true, _) => {}
                (false, '"') => in_string = true,
                (false, '/') if chars.peek() == Some(&'/') => break,
                (false, c) => out.push(c),
            }
        }
        out.push('\n');
    }
    out
}

/// The crates an example names: the first segment of every path that starts with a lowercase
/// name and is not a path inside the language (`std`, `self`, a primitive type) or a method's
/// turbofish (`.get::<V>`).
fn crates_named(rust: &str) -> BTreeSet<String> {
    const NOT_CRATES: &[&str] = &[
        "std", "core", "alloc", "crate", "self", "super", "u8", "u16", "u32", "u64", "u128",
        "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64", "bool", "char", "str",
    ];
    let code = code_only(rust);
    let bytes = code.as_bytes();
    let mut crates = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = bytes[i].is_ascii_alphabetic() || bytes[i] == b'_';
        if !starts_word || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            i += 1;
            continue;
        }
        let end = (i..bytes.len())
            .find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_'))
            .unwrap_or(bytes.len());
        let word = &code[i..end];
        let before = code[..i].trim_end();
        let inside_path = before.ends_with("::") || before.ends_with('.');
        let starts_path = code[end..].starts_with("::");
        let lowercase = word.starts_with(|c: char| c.is_ascii_lowercase());
        if starts_path && !inside_path && lowercase && !NOT_CRATES.contains(&word) {
            crates.insert(word.to_owned());
        }
        i = end;
    }
    crates
}

/// The edition of a crate made by `cargo new`, as a doc test's fence names it.
const NEW_CRATE_EDITION: &str = "edition2024";

/// The features an example needs of a crate, found by what it writes.
const NEEDS: &[(&str, &str, &[&str])] = &[
    // (written in the example, crate, features: any one of each `|` list)
    (
        "#[tokio::main]",
        "tokio",
        &["macros|full", "rt-multi-thread|full"],
    ),
    ("serde::Serialize", "serde", &["derive"]),
    ("serde::Deserialize", "serde", &["derive"]),
    ("RedisStore", "cached_core", &["redis"]),
];

/// Everything wrong with the README's examples, one line each.
fn problems(markdown: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut toml: Option<&Block> = None;
    let blocks = blocks(markdown);
    for block in &blocks {
        let at = format!("README.md:{} (```{})", block.line, block.info);
        match language(block) {
            "" => problems.push(format!(
                "{at}: a fence without a language is tested as Rust"
            )),
            "toml" => toml = Some(block),
            "rust" => {
                if !block.info.split(',').any(|word| word == NEW_CRATE_EDITION) {
                    problems.push(format!(
                        "{at}: add `{NEW_CRATE_EDITION}` to the fence, the edition of a new crate"
                    ));
                }
                for (offset, line) in block.text.lines().enumerate() {
                    let line_ = line.trim_start();
                    if line_ == "#" || line_.starts_with("# ") {
                        let number = block.line + 1 + offset;
                        problems.push(format!(
                            "{at}: line {number} is hidden by rustdoc and shown raw on GitHub: {line}"
                        ));
                    }
                }
                let fragment = block.text.trim_start().starts_with("// fragment");
                if !fragment && !block.text.contains("fn main") {
                    problems.push(format!(
                        "{at}: no `fn main`: not a program a newcomer can run \
                         (or begin it with `// fragment: ...`)"
                    ));
                }
                let deps = toml.map(|t| dependencies(&t.text)).unwrap_or_default();
                let line_of = |krate: &str| {
                    deps.iter()
                        .find(|(name, _)| name == krate)
                        .map(|(_, line)| line.clone())
                };
                for krate in crates_named(&block.text) {
                    if line_of(&krate).is_none() {
                        problems.push(format!(
                            "{at}: uses `{krate}`, which the [dependencies] of the ```toml block \
                             above it do not list"
                        ));
                    }
                }
                for (written, krate, features) in NEEDS {
                    if !block.text.contains(written) {
                        continue;
                    }
                    let line = line_of(krate).unwrap_or_default();
                    for feature in features.iter() {
                        let quoted = |f: &str| line.contains(&format!("\"{f}\""));
                        if !feature.split('|').any(quoted) {
                            problems.push(format!(
                                "{at}: `{written}` needs the feature \"{feature}\" of `{krate}` \
                                 in the ```toml block above it"
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn readme_examples_are_whole_programs_with_their_dependencies() {
    assert!(
        blocks(README)
            .iter()
            .filter(|b| language(b) == "rust")
            .count()
            >= 5,
        "README.md: the Rust examples were not found"
    );
    let problems = problems(README);
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// The check itself, on small READMEs with one mistake each.

#[test]
fn a_hidden_line_is_found() {
    let md = "```toml\n[dependencies]\ncached-core = \"0.1\"\n```\n\
              ```rust,edition2024\n# use cached_core::cache;\nfn main() {}\n```\n";
    assert_eq!(problems(md).len(), 1, "{:?}", problems(md));
    let md = "```rust,edition2024\nfn main() {\n    #\n}\n```\n";
    assert_eq!(problems(md).len(), 1, "{:?}", problems(md));
    // An attribute is not hidden.
    let md = "```rust,edition2024\n#[derive(Clone)]\nstruct A;\nfn main() {}\n```\n";
    assert_eq!(problems(md), Vec::<String>::new());
}

#[test]
fn a_missing_main_is_found_unless_the_block_says_it_is_a_fragment() {
    let md = "```rust,edition2024\nstruct A;\n```\n";
    assert_eq!(problems(md).len(), 1, "{:?}", problems(md));
    let md =
        "```rust,edition2024\n// fragment: the impl block of the example above\nstruct A;\n```\n";
    assert_eq!(problems(md), Vec::<String>::new());
}

#[test]
fn a_crate_missing_from_the_toml_block_above_is_found() {
    let md = "```toml\n[dependencies]\ncached-core = \"0.1\"\n```\n\
              ```rust,edition2024\nuse cached_core::cache;\n#[tokio::main]\nasync fn main() {}\n```\n";
    let found = problems(md);
    assert!(
        found.iter().any(|p| p.contains("uses `tokio`")),
        "{found:?}"
    );
    // A crate in a toml block below the example does not count.
    let md = "```rust,edition2024\nfn main() { let _ = serde::de::IgnoredAny; }\n```\n\
              ```toml\n[dependencies]\nserde = \"1\"\n```\n";
    assert_eq!(problems(md).len(), 1, "{:?}", problems(md));
    // Names in strings and comments, `std` and turbofishes are not crates.
    let md = "```rust,edition2024\nfn main() {\n    let _ = \"a::b\"; // c::d\n    \
              let _ = std::mem::size_of::<u8>() + u8::MAX as usize;\n    \
              let _ = \"1\".parse::<u8>();\n}\n```\n";
    assert_eq!(problems(md), Vec::<String>::new());
}

#[test]
fn a_missing_feature_is_found() {
    let md = "```toml\n[dependencies]\ntokio = { version = \"1\", features = [\"macros\"] }\n```\n\
              ```rust,edition2024\n#[tokio::main]\nasync fn main() {}\n```\n";
    let found = problems(md);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("rt-multi-thread"), "{found:?}");
    let md = "```toml\n[dependencies]\nserde = \"1\"\n```\n\
              ```rust,edition2024\n#[derive(serde::Serialize)]\nstruct A;\nfn main() {}\n```\n";
    assert_eq!(problems(md).len(), 1, "{:?}", problems(md));
}

#[test]
fn a_fence_without_a_language_is_found() {
    let md = "```\nlet x = 1;\n```\n";
    assert_eq!(problems(md).len(), 1, "{:?}", problems(md));
}

#[test]
fn an_example_not_tested_in_a_new_crate_s_edition_is_found() {
    let md = "```rust\nfn main() {}\n```\n";
    let found = problems(md);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("edition2024"), "{found:?}");
    let md = "```rust,no_run,edition2024\nfn main() {}\n```\n";
    assert_eq!(problems(md), Vec::<String>::new());
}
