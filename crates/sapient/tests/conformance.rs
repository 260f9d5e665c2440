//! Conformance against the Dstl BSI Flex 335 v2 test-harness messages and the verdicts of
//! the real Apex validator (`generated/apex_validator_verdicts.jsonl`), plus the v1.0 samples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use dronewatch_sapient::json::{v1_from_json, v2_from_json};
use dronewatch_sapient::{Violation, ViolationKind, validate, validate_v1};

/// Our verdict on one test file.
enum Verdict {
    ParseError(String),
    Invalid(Vec<Violation>),
    Valid,
}

fn judge(path: &Path) -> Verdict {
    let text = std::fs::read_to_string(path).unwrap();
    match v2_from_json(&text) {
        Err(e) => Verdict::ParseError(e.to_string()),
        Ok(msg) => match validate(&msg) {
            Ok(()) => Verdict::Valid,
            Err(v) => Verdict::Invalid(v),
        },
    }
}

fn json_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_true_message_is_accepted() {
    let Some(dir) = dronewatch_testdata::data("sapient/bsi-flex-335-v2/validator/True") else {
        return;
    };
    let files = json_files(&dir);
    assert_eq!(files.len(), 38);
    for f in files {
        match judge(&f) {
            Verdict::Valid => {}
            Verdict::ParseError(e) => panic!("{}: parse error {e}", f.display()),
            Verdict::Invalid(v) => panic!("{}: {v:?}", f.display()),
        }
    }
}

#[test]
fn every_false_message_is_rejected_with_a_reason() {
    let Some(dir) = dronewatch_testdata::data("sapient/bsi-flex-335-v2/validator/False") else {
        return;
    };
    let files = json_files(&dir);
    assert_eq!(files.len(), 193);
    for f in files {
        match judge(&f) {
            Verdict::Valid => panic!("{}: accepted", f.display()),
            Verdict::ParseError(e) => assert!(!e.is_empty()),
            Verdict::Invalid(v) => {
                assert!(!v.is_empty());
                for violation in v {
                    let text = violation.to_string();
                    assert!(text.contains(": "), "{}: {text}", f.display());
                }
            }
        }
    }
}

/// One Apex validation error as (path, kind), in our path syntax.
fn apex_error(e: &str) -> (String, &'static str) {
    // "<path> (<validation type>): <message>", with "(root)" for the top level and list
    // indices as path components.
    let (path, rest) = e.split_once(" (").unwrap();
    let (kind, message) = rest.split_once("): ").unwrap();
    let mut ours = String::new();
    if path != "(root)" {
        for part in path.split('.') {
            if part.chars().all(|c| c.is_ascii_digit()) {
                ours.push_str(&format!("[{part}]"));
            } else {
                if !ours.is_empty() {
                    ours.push('.');
                }
                ours.push_str(part);
            }
        }
    }
    let kind = match kind {
        "mandatory fields present" => "missing",
        "mandatory repeated present" => "empty",
        "mandatory oneof present" => {
            let oneof = message.rsplit(' ').next().unwrap();
            if !ours.is_empty() {
                ours.push('.');
            }
            ours.push_str(oneof);
            "oneof"
        }
        "id format valid" => "id",
        "no unknown enum values" => "enum",
        other => panic!("unexpected Apex validation type {other}"),
    };
    (ours, kind)
}

fn our_error(v: &Violation) -> (String, &'static str) {
    let kind = match v.kind {
        ViolationKind::MissingField => "missing",
        ViolationKind::EmptyRepeated => "empty",
        ViolationKind::MissingOneof => "oneof",
        ViolationKind::BadUuid { .. } | ViolationKind::BadUlid { .. } => "id",
        ViolationKind::UnknownEnum { .. } => "enum",
        ViolationKind::UnsupportedIcdVersion { .. } => "icd",
        ViolationKind::BadTimestamp { .. } | ViolationKind::TimestampNotReasonable { .. } => {
            "timestamp"
        }
    };
    (v.path.clone(), kind)
}

#[test]
fn agrees_with_the_apex_validator_file_by_file() {
    let Some(verdicts) = dronewatch_testdata::data(
        "sapient/bsi-flex-335-v2/generated/apex_validator_verdicts.jsonl",
    ) else {
        return;
    };
    let root = verdicts
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("validator");
    let text = std::fs::read_to_string(&verdicts).unwrap();
    let mut ours_only = BTreeSet::new();
    let mut lines = 0;
    for line in text.lines() {
        lines += 1;
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = v["file"].as_str().unwrap();
        let expected_valid = v["expected_valid"].as_bool().unwrap();
        let parse_ok = v["parse_ok"].as_bool().unwrap();
        assert_eq!(file.starts_with("True/"), expected_valid, "{file}");
        match judge(&root.join(file)) {
            Verdict::ParseError(e) => {
                assert!(!parse_ok, "{file}: Apex parsed it, we did not: {e}");
            }
            verdict => {
                assert!(parse_ok, "{file}: Apex failed to parse it, we did not");
                let apex: BTreeSet<(String, &str)> = v["apex_errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| apex_error(e.as_str().unwrap()))
                    .collect();
                let ours: BTreeSet<(String, &str)> = match &verdict {
                    Verdict::Invalid(errs) => errs.iter().map(our_error).collect(),
                    _ => BTreeSet::new(),
                };
                // Every error Apex reports, we report at the same field.
                let missed: Vec<_> = apex.difference(&ours).collect();
                assert!(
                    missed.is_empty(),
                    "{file}: we miss {missed:?} (ours {ours:?})"
                );
                for extra in ours.difference(&apex) {
                    ours_only.insert((file.to_owned(), extra.0.clone(), extra.1));
                }
                assert_eq!(
                    matches!(verdict, Verdict::Valid),
                    expected_valid,
                    "{file}: {ours:?}"
                );
            }
        }
    }
    assert_eq!(lines, 231);
    // Where we are stricter than Apex: exactly the seven False files it lets through, each
    // for the reason its file name gives.
    let expected: BTreeSet<(String, String, &str)> = [
        (
            "False/0028.Registration.IcdVersion.Wrong.json",
            "registration.icd_version",
            "icd",
        ),
        (
            "False/0074.TaskDefinition.ConcurrentTasks.json",
            "registration.mode_definition[0].task.concurrent_tasks",
            "missing",
        ),
        (
            "False/0096.DependantNodes.Error.json",
            "registration.dependent_nodes[2]",
            "id",
        ),
        (
            "False/0170.Error.ErrorMessage.Missing.json",
            "error.error_message",
            "empty",
        ),
        (
            "False/0171.Error.ErrorMessage.Empty.json",
            "error.error_message",
            "empty",
        ),
        (
            "False/0178.BadId.Follow.FollowObjectId.json",
            "task.command.follow.follow_object_id",
            "id",
        ),
        (
            "False/0189.BadId.Registration.DependantNodes.json",
            "registration.dependent_nodes[0]",
            "id",
        ),
    ]
    .into_iter()
    .map(|(f, p, k)| (f.to_owned(), p.to_owned(), k))
    .collect();
    assert_eq!(ours_only, expected);
}

#[test]
fn the_icd_version_case_apex_misses_is_rejected_by_name() {
    let Some(path) = dronewatch_testdata::data(
        "sapient/bsi-flex-335-v2/validator/False/0028.Registration.IcdVersion.Wrong.json",
    ) else {
        return;
    };
    let Verdict::Invalid(v) = judge(&path) else {
        panic!("0028 must parse and be invalid");
    };
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].to_string(),
        "registration.icd_version: unsupported ICD version \"BSI Flex 335 v1.0\" \
         (this connection speaks \"BSI Flex 335 v2.0\")"
    );
}

#[test]
fn v1_samples_parse_as_v1() {
    let Some(dir) = dronewatch_testdata::data("sapient/bsi-flex-335-v1") else {
        return;
    };
    let files = json_files(&dir);
    assert_eq!(files.len(), 5);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let msg = v1_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let verdict = validate_v1(&msg);
        // The Apex samples are conversion fixtures, not all valid: check that each verdict
        // names the defect the file visibly has.
        let text: Vec<String> = verdict
            .as_ref()
            .err()
            .map(|v| v.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        match name.as_str() {
            "detection_proto.json" | "status_proto.json" => {
                assert!(verdict.is_ok(), "{name}: {text:?}")
            }
            // nodeId "1" is not a UUID
            "alert_proto.json" => assert!(
                text.iter()
                    .any(|t| t.starts_with("node_id: \"1\" is not a UUID")),
                "{text:?}"
            ),
            // destinationId "1" is not a UUID
            "task_proto.json" => assert!(
                text.iter().any(|t| t.starts_with("destination_id: \"1\"")),
                "{text:?}"
            ),
            // no timestamp, no node id, no mode type
            "registration_proto.json" => {
                for want in [
                    "timestamp: mandatory field is missing",
                    "node_id: mandatory field is missing",
                    "registration.mode_definition[0].mode_type: mandatory field is missing",
                ] {
                    assert!(text.iter().any(|t| t == want), "{want} not in {text:?}");
                }
            }
            other => panic!("unexpected v1 sample {other}"),
        }
    }
}

#[test]
fn v2_messages_do_not_parse_as_v1_where_they_differ() {
    // A v2 status report's enum-typed power source is a string field in v1.0.
    let Some(path) = dronewatch_testdata::data(
        "sapient/bsi-flex-335-v2/validator/True/StatusReport.FullMessage.json",
    ) else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    assert!(v2_from_json(&text).is_ok());
    assert!(v1_from_json(&text).is_err());
}
