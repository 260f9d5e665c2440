//! `dronewatch decode` as a user runs it, on the real captures in `../shared/data`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{dronewatch, run_ok};

#[test]
fn remote_id_captures_decode_to_one_json_object_per_message() {
    let Some(dir) = dronewatch_testdata::data("remote-id") else {
        return;
    };
    let files = [
        "odid_wifi_bcn_sample.pcap",
        "odid_wifi_sample.pcap",
        "odid_bt5_lr_sample.pcapng",
    ];
    let mut cmd = dronewatch();
    cmd.args(["decode", "remote-id"])
        .args(files.iter().map(|f| dir.join(f)));
    let out = run_ok(&mut cmd);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Every file contributes; every line names its file and frame and is a message or an error.
    for f in files {
        assert!(
            lines
                .iter()
                .any(|v| v["file"].as_str().unwrap().ends_with(f)),
            "{f}"
        );
    }
    assert!(lines.iter().all(|v| v["frame"].as_u64().is_some()));
    assert!(
        lines
            .iter()
            .all(|v| v["message_type"].is_string() || v["error"].is_string())
    );
    // The first beacon's Location, lat before lon, as the reference decoder reads it.
    let loc = lines
        .iter()
        .find(|v| v["message_type"] == "location")
        .expect("a location");
    assert_eq!(loc["message"]["latitude_deg"].as_f64(), Some(45.5457468));
    assert_eq!(loc["message"]["longitude_deg"].as_f64(), Some(-122.9681496));
    // The corrupted BT5 frames are reported, not dropped or trusted.
    assert!(
        lines
            .iter()
            .any(|v| v["error"].is_string() || v["flags"].is_array())
    );
}

#[test]
fn a_missing_capture_is_an_error_naming_it_and_the_others_still_decode() {
    let Some(dir) = dronewatch_testdata::data("remote-id") else {
        return;
    };
    let out = dronewatch()
        .args(["decode", "remote-id", "/nonexistent.pcap"])
        .arg(dir.join("odid_wifi_bcn_sample.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent.pcap"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 50);
}

#[test]
fn cot_files_and_tak_frames_decode_to_one_json_object_per_event() {
    let Some(dir) = dronewatch_testdata::data("cot") else {
        return;
    };
    let examples = dir.join("atak-civ-examples");
    let mut files: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cot"))
        .collect();
    files.sort();
    // takproto's stream form of the first, and a file of two events back to back.
    let tmp = tempfile::tempdir().unwrap();
    let line = std::fs::read_to_string(dir.join("generated/takproto_v1_from_atak_examples.jsonl"))
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let frame = tmp.path().join("frame.tak");
    std::fs::write(
        &frame,
        hex::decode(first["stream_hex"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let mesh = tmp.path().join("datagram.tak");
    std::fs::write(
        &mesh,
        hex::decode(first["mesh_hex"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let two = tmp.path().join("two.cot");
    let mut both = std::fs::read(&files[0]).unwrap();
    both.extend(std::fs::read(&files[1]).unwrap());
    std::fs::write(&two, both).unwrap();

    let mut cmd = dronewatch();
    cmd.args(["decode", "cot"])
        .args(&files)
        .arg(&frame)
        .arg(&two);
    let out = run_ok(&mut cmd);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12 + 1 + 2, "{out}");
    let marker = lines
        .iter()
        .find(|v| v["file"].as_str().unwrap().ends_with("marker-2525.cot"))
        .unwrap();
    assert_eq!(marker["type"], "a-u-G");
    assert_eq!(marker["affiliation"], "unknown");
    assert_eq!(marker["sidc_2525b"], "SUGP-----------");
    assert_eq!(marker["callsign"], "U.16.135057");
    assert_eq!(marker["time_unix_ms"], 1_608_148_774_910i64);
    let from_frame = &lines[12];
    assert_eq!(from_frame["uid"], first["decoded"]["uid"]);
    assert_eq!(from_frame["callsign"], first["decoded"]["callsign"]);

    let mut cmd = dronewatch();
    cmd.args(["decode", "cot", "--mesh"]).arg(&mesh);
    let out = run_ok(&mut cmd);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["uid"], first["decoded"]["uid"]);
}
