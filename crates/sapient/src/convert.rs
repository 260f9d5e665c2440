//! BSI Flex 335 v1.0 ⇄ v2.0, so a v1.0 node goes through the same v2.0 session path.
//!
//! Most v1.0 messages share v2.0's field numbers and wire types, so they are converted by
//! re-decoding their bytes as v2.0. The fields that differ are moved by hand: the string
//! power and status fields of StatusReport and its single `coverage`, the singular reasons of
//! RegistrationAck, TaskAck and AlertAck, AlertAck's status, and Error's message. Going down
//! (our replies to a v1.0 node), repeated reasons are joined with "; ".

use prost::Message;

use crate::{v1, v2};

/// A message that has no counterpart in the other version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{what}: cannot convert between v1.0 and v2.0: {reason}")]
    Wire { what: &'static str, reason: String },
}

fn rewire<A: Message, B: Message + Default>(a: &A, what: &'static str) -> Result<B, ConvertError> {
    B::decode(a.encode_to_vec().as_slice()).map_err(|e| ConvertError::Wire {
        what,
        reason: e.to_string(),
    })
}

/// v1.0 → v2.0.
pub fn upgrade(msg: &v1::SapientMessage) -> Result<v2::SapientMessage, ConvertError> {
    use v1::sapient_message::Content as C1;
    use v2::sapient_message::Content as C2;
    let content = match &msg.content {
        None => None,
        Some(C1::Registration(r)) => Some(C2::Registration(upgrade_registration(r)?)),
        Some(C1::RegistrationAck(a)) => Some(C2::RegistrationAck(v2::RegistrationAck {
            acceptance: a.acceptance,
            ack_response_reason: a.ack_response_reason.iter().cloned().collect(),
        })),
        Some(C1::StatusReport(s)) => Some(C2::StatusReport(upgrade_status(s)?)),
        Some(C1::DetectionReport(d)) => Some(C2::DetectionReport(rewire(d, "DetectionReport")?)),
        Some(C1::Task(t)) => Some(C2::Task(rewire(t, "Task")?)),
        Some(C1::TaskAck(a)) => Some(C2::TaskAck(v2::TaskAck {
            task_id: a.task_id.clone(),
            task_status: a.task_status,
            associated_file: match &a.associated_file {
                Some(f) => Some(rewire(f, "TaskAck.associated_file")?),
                None => None,
            },
            reason: a.reason.iter().cloned().collect(),
        })),
        Some(C1::Alert(a)) => Some(C2::Alert(rewire(a, "Alert")?)),
        Some(C1::AlertAck(a)) => Some(C2::AlertAck(v2::AlertAck {
            alert_id: a.alert_id.clone(),
            reason: a.reason.iter().cloned().collect(),
            // Same numbers: ACCEPTED 1, REJECTED 2, CANCELLED 3.
            alert_ack_status: a.alert_status,
        })),
        Some(C1::Error(e)) => Some(C2::Error(v2::Error {
            packet: e.packet.clone(),
            error_message: e.error_message.iter().cloned().collect(),
        })),
    };
    Ok(v2::SapientMessage {
        timestamp: msg.timestamp,
        node_id: msg.node_id.clone(),
        destination_id: msg.destination_id.clone(),
        content,
        additional_information: None,
    })
}

fn upgrade_registration(r: &v1::Registration) -> Result<v2::Registration, ConvertError> {
    // v1.0 lists several task definitions per mode where v2.0 has one: keep the first, which
    // the wire merge would otherwise blend together.
    let mut first_tasks_only = r.clone();
    for mode in &mut first_tasks_only.mode_definition {
        mode.task.truncate(1);
    }
    rewire(&first_tasks_only, "Registration")
}

fn upgrade_status(s: &v1::StatusReport) -> Result<v2::StatusReport, ConvertError> {
    use v2::status_report::{Power, PowerSource, PowerStatus, Status, StatusType};
    let coverage = match &s.coverage {
        Some(c) => vec![rewire(c, "StatusReport.coverage")?],
        None => Vec::new(),
    };
    let field_of_view = match &s.field_of_view {
        Some(f) => Some(rewire(f, "StatusReport.field_of_view")?),
        None => None,
    };
    let obscuration = s
        .obscuration
        .iter()
        .map(|o| rewire(o, "StatusReport.obscuration"))
        .collect::<Result<Vec<_>, _>>()?;
    let node_location = match &s.node_location {
        Some(l) => Some(rewire(l, "StatusReport.node_location")?),
        None => None,
    };
    let squash = |t: &str| -> String {
        t.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let power = s.power.as_ref().map(|p| {
        let source = match p.source.as_deref().map(squash).as_deref() {
            Some("MAINS") => PowerSource::PowersourceMains,
            Some("BATTERY" | "INTERNALBATTERY") => PowerSource::PowersourceInternalBattery,
            Some("EXTERNALBATTERY") => PowerSource::PowersourceExternalBattery,
            Some("GENERATOR") => PowerSource::PowersourceGenerator,
            Some("SOLAR" | "SOLARPV") => PowerSource::PowersourceSolarPv,
            Some("WIND" | "WINDTURBINE") => PowerSource::PowersourceWindTurbine,
            Some("FUELCELL") => PowerSource::PowersourceFuelCell,
            Some(_) => PowerSource::PowersourceOther,
            None => PowerSource::PowersourceUnspecified,
        };
        let status = match p.status.as_deref().map(squash).as_deref() {
            Some("OK") => PowerStatus::PowerstatusOk,
            Some("FAULT") => PowerStatus::PowerstatusFault,
            _ => PowerStatus::PowerstatusUnspecified,
        };
        Power {
            level: p.level,
            source: source as i32,
            status: status as i32,
        }
    });
    let status = s
        .status
        .iter()
        .map(|st| {
            // v1.0's free-text type; a name v2.0 knows maps to it, anything else is OTHER with
            // the text kept in the value.
            let text = st.status_type.clone().unwrap_or_default();
            let known = StatusType::from_str_name(&format!(
                "STATUS_TYPE_{}",
                text.trim().to_ascii_uppercase().replace([' ', '-'], "_")
            ));
            let (status_type, status_value) = match known {
                Some(t) => (t, st.status_value.clone()),
                None => (
                    StatusType::Other,
                    Some(match &st.status_value {
                        Some(v) => format!("{text}: {v}"),
                        None => text,
                    }),
                ),
            };
            Status {
                // v1.0's SENSOR_STATUS (1) was withdrawn in v2.0: report it as information.
                status_level: st.status_level.map(|l| if l == 1 { 2 } else { l }),
                status_value,
                status_type: Some(status_type as i32),
            }
        })
        .collect();
    Ok(v2::StatusReport {
        report_id: s.report_id.clone(),
        system: s.system,
        info: s.info,
        active_task_id: s.active_task_id.clone(),
        mode: s.mode.clone(),
        power,
        node_location,
        field_of_view,
        obscuration,
        status,
        coverage,
    })
}

fn join(reasons: &[String]) -> Option<String> {
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// v2.0 → v1.0, for the messages a fusion node sends (acknowledgements, errors, tasks);
/// other content is re-decoded, and fails where the versions differ.
pub fn downgrade(msg: &v2::SapientMessage) -> Result<v1::SapientMessage, ConvertError> {
    use v1::sapient_message::Content as C1;
    use v2::sapient_message::Content as C2;
    let content = match &msg.content {
        None => None,
        Some(C2::RegistrationAck(a)) => Some(C1::RegistrationAck(v1::RegistrationAck {
            acceptance: a.acceptance,
            ack_response_reason: join(&a.ack_response_reason),
        })),
        Some(C2::TaskAck(a)) => Some(C1::TaskAck(v1::TaskAck {
            task_id: a.task_id.clone(),
            task_status: a.task_status,
            reason: join(&a.reason),
            associated_file: match &a.associated_file {
                Some(f) => Some(rewire(f, "TaskAck.associated_file")?),
                None => None,
            },
        })),
        Some(C2::AlertAck(a)) => Some(C1::AlertAck(v1::AlertAck {
            alert_id: a.alert_id.clone(),
            alert_status: a.alert_ack_status,
            reason: join(&a.reason),
        })),
        Some(C2::Error(e)) => Some(C1::Error(v1::Error {
            packet: e.packet.clone(),
            error_message: join(&e.error_message),
        })),
        Some(C2::Task(t)) => Some(C1::Task(rewire(t, "Task")?)),
        Some(C2::DetectionReport(d)) => Some(C1::DetectionReport(rewire(d, "DetectionReport")?)),
        Some(C2::Alert(a)) => Some(C1::Alert(rewire(a, "Alert")?)),
        Some(C2::Registration(_)) | Some(C2::StatusReport(_)) => {
            return Err(ConvertError::Wire {
                what: "Registration/StatusReport",
                reason: "a fusion node does not send these down to a v1.0 node".into(),
            });
        }
    };
    Ok(v1::SapientMessage {
        timestamp: msg.timestamp,
        node_id: msg.node_id.clone(),
        destination_id: msg.destination_id.clone(),
        content,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn acks_keep_their_reasons_both_ways() {
        let ack = v2::SapientMessage {
            node_id: Some("n".into()),
            content: Some(v2::sapient_message::Content::RegistrationAck(
                v2::RegistrationAck {
                    acceptance: Some(false),
                    ack_response_reason: vec!["a".into(), "b".into()],
                },
            )),
            ..Default::default()
        };
        let down = downgrade(&ack).unwrap();
        let Some(v1::sapient_message::Content::RegistrationAck(a)) = &down.content else {
            panic!()
        };
        assert_eq!(a.ack_response_reason.as_deref(), Some("a; b"));
        let up = upgrade(&down).unwrap();
        let Some(v2::sapient_message::Content::RegistrationAck(a)) = &up.content else {
            panic!()
        };
        assert_eq!(a.ack_response_reason, ["a; b"]);
    }

    #[test]
    fn v1_status_strings_become_v2_enums() {
        use v2::status_report::{PowerSource, StatusType};
        let s = v1::StatusReport {
            report_id: Some("01H7SRX8VQ0CCV2AQ8TCXVJ1KD".into()),
            system: Some(1),
            info: Some(1),
            power: Some(v1::status_report::Power {
                source: Some("Mains".into()),
                status: Some("OK".into()),
                level: Some(80),
            }),
            status: vec![
                v1::status_report::Status {
                    status_level: Some(1),
                    status_type: Some("Weather".into()),
                    status_value: Some("Rain".into()),
                },
                v1::status_report::Status {
                    status_level: Some(3),
                    status_type: Some("Lens".into()),
                    status_value: Some("dirty".into()),
                },
            ],
            coverage: Some(v1::status_report::LocationOrRangeBearing::default()),
            ..Default::default()
        };
        let v2s = upgrade_status(&s).unwrap();
        let p = v2s.power.unwrap();
        assert_eq!(p.source, PowerSource::PowersourceMains as i32);
        assert_eq!(p.level, Some(80));
        assert_eq!(v2s.status[0].status_type, Some(StatusType::Weather as i32));
        assert_eq!(v2s.status[0].status_level, Some(2));
        assert_eq!(v2s.status[1].status_type, Some(StatusType::Other as i32));
        assert_eq!(v2s.status[1].status_value.as_deref(), Some("Lens: dirty"));
        assert_eq!(v2s.coverage.len(), 1);
    }
}
