//! A byte stream as a connection would deliver it: the frame decoder cuts it, the session
//! handles each frame (decode, validation, mapping, replies). Nothing may panic, a closing
//! reply must end the stream, and every reply must encode.
#![no_main]

use std::sync::Arc;

use bytes::BytesMut;
use dronewatch_model::TimeNs;
use dronewatch_sapient::FrameCodec;
use dronewatch_sapient::session::{NodeRegistry, Outputs, Session, SessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let codec = FrameCodec::new(64 * 1024);
    let mut session = Session::new(Arc::new(SessionConfig::default()), NodeRegistry::new(), 1);
    let mut buf = BytesMut::from(data);
    let mut out = Outputs::default();
    let mut wire = BytesMut::new();
    loop {
        out.clear();
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => {
                session.handle_frame(&frame, TimeNs(1_700_000_000_000_000_000), &mut out)
            }
            Ok(None) => break,
            Err(e) => {
                session.handle_frame_error(&e, &buf, TimeNs(0), &mut out);
                assert!(out.close);
            }
        }
        for reply in &out.replies {
            assert!(session.encode_reply(reply, &codec, &mut wire).is_ok());
        }
        if out.close {
            break;
        }
    }
    out.clear();
    session.close(TimeNs(0), "end", &mut out);
});
