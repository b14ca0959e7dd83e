//! The envelope of every fleet payload inside a Ballista plan: `FLEET` + a format byte, the
//! fleet version that encoded it, a kind tag, then JSON. A node decoding a payload from
//! another fleet version refuses it with one line naming both versions: fleet's plans carry
//! the engine's own notions (chunk plans, aggregate states) whose encoding is not promised
//! to stay the same between versions.
//!
//! Ballista's own payloads are protobuf messages, which never start with `F` (0x46 would be
//! field 8 of wire type 6, which does not exist), so the tag tells the two apart.

use datafusion::error::DataFusionError;
use serde::de::DeserializeOwned;
use serde::Serialize;

const MAGIC: &[u8; 6] = b"FLEET\x01";

/// The version this build writes into payloads and accepts: the crate version, unless
/// `FLEET_CLUSTER_VERSION` is set (how the tests stand up a node of another version).
pub fn fleet_version() -> String {
    match std::env::var("FLEET_CLUSTER_VERSION") {
        Ok(v) if !v.is_empty() => v,
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Whether `buf` is a fleet payload (else it is Ballista's or DataFusion's).
pub fn is_fleet(buf: &[u8]) -> bool {
    buf.starts_with(MAGIC)
}

pub fn encode<T: Serialize>(
    kind: &str,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), DataFusionError> {
    let version = fleet_version();
    out.extend_from_slice(MAGIC);
    out.push(version.len() as u8);
    out.extend_from_slice(version.as_bytes());
    out.push(kind.len() as u8);
    out.extend_from_slice(kind.as_bytes());
    serde_json::to_writer(out, value).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The kind tag and the JSON body of a fleet payload, after checking its version.
pub fn open(buf: &[u8]) -> Result<(&str, &[u8]), DataFusionError> {
    let bad = || DataFusionError::Internal("fleet: malformed fleet plan payload".into());
    let rest = buf.strip_prefix(MAGIC.as_slice()).ok_or_else(bad)?;
    let (version, rest) = take_short(rest).ok_or_else(bad)?;
    let ours = fleet_version();
    if version != ours.as_bytes() {
        let line = format!(
            "fleet version mismatch: the plan comes from fleet {}, this node runs fleet {ours}; \
             run the same fleet build on the client, the scheduler and every executor",
            String::from_utf8_lossy(version)
        );
        // An executor that cannot decode a task only tells the scheduler the task was
        // rejected, without why: the why is on this node's stderr.
        eprintln!("fleet cluster {}: {line}", crate::node::role());
        return Err(DataFusionError::Plan(crate::client::tagged(&line)));
    }
    let (kind, body) = take_short(rest).ok_or_else(bad)?;
    let kind = std::str::from_utf8(kind).map_err(|_| bad())?;
    Ok((kind, body))
}

pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DataFusionError> {
    serde_json::from_slice(body)
        .map_err(|e| DataFusionError::Internal(format!("fleet: malformed fleet plan payload: {e}")))
}

fn take_short(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&n, rest) = buf.split_first()?;
    (rest.len() >= n as usize).then(|| rest.split_at(n as usize))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_and_is_told_from_protobuf() {
        let mut buf = Vec::new();
        encode("t", &vec![1u32, 2], &mut buf).unwrap();
        assert!(is_fleet(&buf));
        let (kind, body) = open(&buf).unwrap();
        assert_eq!(kind, "t");
        assert_eq!(decode::<Vec<u32>>(body).unwrap(), vec![1, 2]);
        assert!(!is_fleet(&[0x0a, 0x02, b'F', b'L']));
    }

    #[test]
    fn another_version_is_refused_naming_both() {
        let mut buf = Vec::new();
        encode("t", &0u8, &mut buf).unwrap();
        // Rewrite the version byte string as another of the same length.
        let at = MAGIC.len() + 1;
        buf[at] = if buf[at] == b'9' { b'8' } else { b'9' };
        let e = open(&buf).unwrap_err().to_string();
        assert!(e.contains("fleet version mismatch"), "{e}");
        assert!(e.contains(env!("CARGO_PKG_VERSION")), "{e}");
        assert!(open(b"FLEET\x01\x09abc").is_err());
    }
}
