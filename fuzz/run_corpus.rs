//! The runner of the stable regression tests `crates/*/tests/fuzz_corpus.rs`, which include
//! this file: every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes
//! through the body of the fuzz target, the same function `cargo fuzz` runs.

use std::path::Path;

/// Runs `entry` on every file of the corpus and regression directories of `target`, and
/// fails with the list of the inputs that panicked. Both directories must exist, and the corpus
/// must hold at least one input (an empty regression directory holds only its `.gitkeep`).
pub(crate) fn run(target: &str, entry: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failed = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz.join(kind).join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut count = 0;
        for file in entries {
            let path = file
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            let hidden = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_none_or(|name| name.starts_with('.'));
            if hidden || !path.is_file() {
                continue;
            }
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                failed.push(path.display().to_string());
            }
            count += 1;
        }
        assert!(
            kind != "corpus" || count > 0,
            "{}: no corpus files",
            dir.display()
        );
    }
    assert!(failed.is_empty(), "{target}: panicked on {failed:#?}");
}
