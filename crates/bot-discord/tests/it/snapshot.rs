//! JSON snapshots in `tests/it/snapshots/`: a test fails when the rendered value
//! differs from the reviewed file. `UPDATE_SNAPSHOTS=1` rewrites the files (review the
//! diff before committing); a missing file always fails.

use std::path::PathBuf;

use serde_json::Value;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots")
        .join(format!("{name}.json"))
}

/// Compare `value` with the snapshot `name`.
pub(crate) fn assert_snapshot(name: &str, value: &Value) {
    let actual = serde_json::to_string_pretty(value).expect("serialisable") + "\n";
    let path = path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "snapshot {} is missing: run with UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 to accept after review)\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}
