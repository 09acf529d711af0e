//! Session ids.

use std::{fmt, ops::Deref, str::FromStr};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

/// A session id: 15 bytes from a CSPRNG, written as 20 characters of base64url, the shape of
/// Node's `base64id`. The engine session id is a bearer secret for polling requests.
///
/// ```
/// use tower_socketio_engine::Sid;
///
/// let a = Sid::generate();
/// assert_eq!(a.len(), 20);
/// assert_ne!(a, Sid::generate());
/// assert_eq!(a.as_str().parse::<Sid>().ok(), Some(a));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; 20]);

impl Sid {
    /// A new random id (the thread-local ChaCha CSPRNG of `rand`, seeded from the OS).
    pub fn generate() -> Sid {
        let mut raw = [0u8; 15];
        rand::fill(&mut raw[..]);
        let mut out = [0u8; 20];
        // 15 bytes always encode to exactly 20 base64 characters, so this cannot fail.
        let _ = URL_SAFE_NO_PAD.encode_slice(raw, &mut out);
        Sid(out)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only built from base64url characters (ASCII), checked in `generate` and `from_str`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Deref for Sid {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

/// The text is not a session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSid;

impl fmt::Display for InvalidSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid session id")
    }
}

impl std::error::Error for InvalidSid {}

/// As its text.
impl serde::Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// From its text (20 characters of base64url); anything else is an error.
impl<'de> serde::Deserialize<'de> for Sid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Sid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 20-character base64url id")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sid, E> {
                v.parse()
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Sid, E> {
                let text = std::str::from_utf8(v)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self))?;
                self.visit_str(text)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl FromStr for Sid {
    type Err = InvalidSid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; 20] = s.as_bytes().try_into().map_err(|_| InvalidSid)?;
        if bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            Ok(Sid(bytes))
        } else {
            Err(InvalidSid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "",
            "short",
            "__proto__",
            "constructor",
            "aaaaaaaaaaaaaaaaaaa=",
            "ééééééééééé",
        ] {
            assert!(bad.parse::<Sid>().is_err(), "{bad}");
        }
        assert!("abcdefghij-_ABCDEFGH".parse::<Sid>().is_ok());
    }

    #[test]
    fn ids_are_distinct_and_url_safe() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let sid = Sid::generate();
            assert!(
                sid.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(seen.insert(sid));
        }
    }
}
