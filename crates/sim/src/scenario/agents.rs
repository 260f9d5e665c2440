//! `agents.jsonl`: where each field agent was at each report time (FORMAT.md, "Agents, zones
//! and warnings").

use std::io::BufRead;
use std::path::Path;

use dronewatch_model::{AgentFix, AgentId, Lla, TimeNs};
use serde::Deserialize;

use super::{FormatError, LineError};

#[derive(Deserialize)]
struct RawAgent<'a> {
    t: f64,
    #[serde(borrow)]
    agent_id: std::borrow::Cow<'a, str>,
    lla: [f64; 3],
}

/// Parses one `agents.jsonl` line; `t` becomes `epoch.plus_secs(t)`. Unknown keys (`mode`,
/// `enu`) are ignored.
pub fn parse_agent_line(line: &str, epoch: TimeNs) -> Result<AgentFix, LineError> {
    let raw: RawAgent<'_> = serde_json::from_str(line)?;
    if !raw.t.is_finite() {
        return Err(LineError::BadField {
            field: "t",
            reason: "must be finite",
        });
    }
    let position = Lla::new(raw.lla[0], raw.lla[1], raw.lla[2]);
    if !position.is_valid() {
        return Err(LineError::BadField {
            field: "lla",
            reason: "must be finite with latitude in [-90, 90]",
        });
    }
    Ok(AgentFix {
        agent_id: AgentId::new(raw.agent_id),
        t: epoch.plus_secs(raw.t),
        position,
    })
}

/// Reads a whole `agents.jsonl` (sorted by time in the file). Stops at the first bad line,
/// naming it.
pub fn read_agents(path: &Path, epoch: TimeNs) -> Result<Vec<AgentFix>, FormatError> {
    let io = |source| FormatError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut fixes = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|source| FormatError::Read { line_no, source })?;
        if line.trim().is_empty() {
            continue;
        }
        let fix = parse_agent_line(&line, epoch)
            .map_err(|source| FormatError::Line { line_no, source })?;
        fixes.push(fix);
    }
    Ok(fixes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_line_lat_before_lon() {
        let line = r#"{"t": 12.0, "agent_id": "agent-5", "mode": "foot", "enu": [-334.998, 1080.443, 1.7], "lla": [51.209711398, -1.80479377, 101.8]}"#;
        let fix = parse_agent_line(line, TimeNs(0)).unwrap();
        assert_eq!(fix.agent_id.as_str(), "agent-5");
        assert_eq!(fix.t, TimeNs(12_000_000_000));
        assert_eq!(fix.position, Lla::new(51.209711398, -1.80479377, 101.8));
    }

    #[test]
    fn bad_lines_name_the_field() {
        let e = parse_agent_line(
            r#"{"t": 1.0, "agent_id": "a", "lla": [95.0, 0.0, 0.0]}"#,
            TimeNs(0),
        );
        assert_eq!(e.unwrap_err().field(), Some("lla"));
        let e = parse_agent_line(r#"{"t": 1.0, "lla": [5.0, 0.0, 0.0]}"#, TimeNs(0));
        assert!(e.unwrap_err().to_string().contains("agent_id"));
    }
}
