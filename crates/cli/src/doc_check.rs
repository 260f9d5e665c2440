//! The docs against the code, so that no command in them goes stale: every `dronewatch`
//! subcommand and `--flag` the README and `docs/` name exists (clap's own description of
//! the CLI is the reference), every script they name is in `scripts/` and executable,
//! every `cargo bench -p CRATE --bench NAME` names a real benchmark, and every `toml`
//! block is a configuration the node accepts. What the commands do is run by the tests
//! listed in `docs/reliability.md`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every Markdown file in docs/, with their text.
fn docs() -> Vec<(String, String)> {
    let root = repo();
    let mut files = vec![root.join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    files.extend(more);
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            std::fs::read_to_string(&p).ok().map(|t| (name, t))
        })
        .collect()
}

/// Each mention of a command: from `dronewatch ` (or `cargo run ... -- `) to the end of
/// the line or of the inline code span.
fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = find_command(rest) {
            let tail = &rest[at.0 + at.1..];
            let end = tail.find(['`', '|', '#', ')']).unwrap_or(tail.len());
            out.push(tail[..end].trim().to_owned());
            rest = &tail[end..];
        }
    }
    out
}

/// Where the next command starts in `s`, and the length of its prefix.
fn find_command(s: &str) -> Option<(usize, usize)> {
    let cargo = s
        .find("-p dronewatch-cli -- ")
        .map(|i| (i, "-p dronewatch-cli -- ".len()));
    let bin = s.match_indices("dronewatch ").find_map(|(i, m)| {
        // Not `cargo bench -p dronewatch-x`, not a path or a word like `dronewatch's`.
        let before = s[..i].chars().next_back();
        before
            .is_none_or(|c| c == ' ' || c == '`' || c == '/' || c == '(')
            .then_some((i, m.len()))
    });
    match (cargo, bin) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[test]
fn every_documented_subcommand_and_flag_exists() {
    let cli = crate::Cli::command();
    let mut checked = 0;
    let mut errors = BTreeSet::new();
    for (file, text) in docs() {
        for m in mentions(&text) {
            let mut words = m.split_whitespace();
            let Some(sub) = words.next() else { continue };
            // Prose ("dronewatch is ...", "dronewatch has ..."): not a command.
            let Some(mut cmd) = cli.find_subcommand(sub) else {
                if sub.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    && words.clone().next().is_some_and(|w| w.starts_with("--"))
                {
                    errors.insert(format!("{file}: no subcommand `{sub}` in `{m}`"));
                }
                continue;
            };
            let mut path = sub.to_owned();
            let words: Vec<&str> = words.collect();
            if let Some(nested) = words
                .first()
                .and_then(|w| cmd.find_subcommand(w))
                .filter(|_| cmd.has_subcommands())
            {
                path = format!("{path} {}", nested.get_name());
                cmd = nested;
            } else if cmd.has_subcommands() && !words.is_empty() && !words[0].starts_with('-') {
                errors.insert(format!("{file}: `dronewatch {path}` has no `{}`", words[0]));
                continue;
            }
            for w in &words {
                let w = w.trim_matches(|c: char| "[]{}'\",.;:".contains(c));
                let Some(flag) = w.strip_prefix("--") else {
                    continue;
                };
                let name = flag.split('=').next().unwrap_or(flag);
                if name.is_empty() || name == "help" || name == "version" {
                    continue;
                }
                if !cmd.get_arguments().any(|a| a.get_long() == Some(name)) {
                    errors.insert(format!("{file}: `dronewatch {path}` has no `--{name}`"));
                }
                checked += 1;
            }
        }
    }
    assert!(errors.is_empty(), "stale commands in the docs:\n{}", {
        let v: Vec<String> = errors.into_iter().collect();
        v.join("\n")
    });
    assert!(
        checked > 30,
        "only {checked} flags found: is the extraction broken?"
    );
}

#[test]
fn every_documented_script_and_benchmark_exists() {
    let root = repo();
    let mut errors = Vec::new();
    let mut seen = 0;
    for (file, text) in docs() {
        for (i, _) in text.match_indices("scripts/") {
            // `../shared/bench/...` and the like are not ours.
            if text[..i].ends_with("bench/") || text[..i].ends_with('.') {
                continue;
            }
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/_.-".contains(*c))
                .collect();
            let name = name.trim_end_matches('.');
            if !name.ends_with(".sh") && !name.ends_with(".py") {
                continue;
            }
            seen += 1;
            let path = root.join(name);
            let executable = std::fs::metadata(&path).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            });
            if !path.exists() {
                errors.push(format!("{file}: {name} does not exist"));
            } else if name.ends_with(".sh") && !executable {
                errors.push(format!("{file}: {name} is not executable"));
            }
        }
        for (i, _) in text.match_indices("cargo bench -p ") {
            let words: Vec<&str> = text[i + "cargo bench -p ".len()..]
                .split(|c: char| c.is_whitespace() || c == '`')
                .filter(|w| !w.is_empty())
                .take(3)
                .collect();
            let Some(krate) = words.first() else { continue };
            let dir = root
                .join("crates")
                .join(krate.trim_start_matches("dronewatch-"));
            seen += 1;
            if !dir.join("benches").is_dir() {
                errors.push(format!("{file}: {krate} has no benches/"));
            } else if words.get(1) == Some(&"--bench")
                && let Some(bench) = words.get(2)
                && !dir.join("benches").join(format!("{bench}.rs")).exists()
            {
                errors.push(format!("{file}: {krate} has no bench {bench}"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(seen > 10, "only {seen} found: is the extraction broken?");
}

/// The fenced blocks of `lang` in `text`, with the line each starts on.
fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match &mut open {
            None if fence.strip_prefix("```").is_some_and(|l| l.trim() == lang) => {
                open = Some((i + 1, String::new()));
            }
            Some(_) if fence.starts_with("```") => out.extend(open.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_toml_block_in_the_docs_is_a_configuration_the_node_accepts() {
    use dronewatch_server::config::ServerConfig;
    let mut seen = 0;
    for (file, text) in docs() {
        for (line, body) in blocks(&text, "toml") {
            if let Err(e) = ServerConfig::from_toml(&body) {
                panic!("{file}:{line}: the node refuses this configuration: {e}\n{body}");
            }
            seen += 1;
        }
    }
    // deployment.md (3), delivery.md (5), integrator-guide.md (5), threat.md (1) at least.
    assert!(seen >= 14, "only {seen} toml blocks found");
    // A stale key would be caught: the node refuses what it does not know.
    assert!(ServerConfig::from_toml("[http]\nbnd = \"127.0.0.1:8080\"\n").is_err());
}

#[test]
fn commands_are_found_in_code_spans_blocks_and_cargo_run_lines() {
    let text = "Run `dronewatch replay --scenario S --out t.jsonl` then\n    cargo run --release -p dronewatch-cli -- demo --http 127.0.0.1:0\n`cargo bench -p dronewatch-threat`; dronewatch's own";
    assert_eq!(
        mentions(text),
        vec![
            "replay --scenario S --out t.jsonl".to_owned(),
            "demo --http 127.0.0.1:0".to_owned()
        ]
    );
}
