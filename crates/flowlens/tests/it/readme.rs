//! README.md's examples are real: each ```console block's `$ flowlens …` command is run from
//! the workspace root, and every line the README shows (other than `...` elisions) must appear
//! in the actual output, in the same order.

use crate::common;

use std::process::Command;

#[test]
fn readme_console_examples_match_real_output() {
    let root = common::workspace_dir();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut examples = 0;
    let mut in_block = false;
    let mut block: Vec<&str> = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```console") {
            in_block = true;
            block.clear();
        } else if in_block && line.starts_with("```") {
            in_block = false;
            let Some(cmd) = block.first().and_then(|l| l.strip_prefix("$ flowlens ")) else {
                continue;
            };
            examples += 1;
            let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
                .current_dir(&root)
                .args(cmd.split_whitespace())
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // The examples show successful runs: a failing command is a broken example even
            // when its output happens to contain the lines shown.
            assert!(
                out.status.success(),
                "README example `flowlens {cmd}` exited with {}:\n{text}",
                out.status
            );
            let mut actual = text.lines();
            for want in block.iter().skip(1).filter(|l| l.trim() != "...") {
                assert!(
                    actual.any(|a| a == *want),
                    "README example `flowlens {cmd}`: line {want:?} not in output (in order):\n{text}"
                );
            }
        } else if in_block {
            block.push(line);
        }
    }
    assert!(examples >= 3, "found only {examples} README examples");
}
