//! The Ed25519 check Discord requires of an HTTP interactions endpoint: the
//! `X-Signature-Ed25519` header is a signature of `X-Signature-Timestamp` followed by
//! the raw body, by the application's key (its hex "public key" in the developer
//! portal).

use ed25519_dalek::{Signature, VerifyingKey};

/// Why a request's signature is refused (answered with 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing.
    #[error("missing signature headers")]
    Missing,
    /// The signature header is not 64 bytes of hex.
    #[error("malformed signature")]
    Malformed,
    /// The signature does not verify.
    #[error("invalid signature")]
    Invalid,
    /// The timestamp is not a number of seconds within the allowed skew of now.
    #[error("stale or malformed timestamp")]
    Stale,
}

/// Why a public key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Discord public key must be 64 hex characters of a valid Ed25519 key")]
pub struct BadPublicKey;

/// The application's public key.
#[derive(Debug, Clone)]
pub struct PublicKey(VerifyingKey);

/// How far a request's timestamp may be from now (replays older than this fail).
pub const MAX_SKEW_SECS: u64 = 300;

impl PublicKey {
    /// From the portal's hex form.
    ///
    /// # Errors
    /// [`BadPublicKey`] for anything but a valid 32-byte key in hex.
    pub fn from_hex(hex_key: &str) -> Result<Self, BadPublicKey> {
        let bytes: [u8; 32] = hex::decode(hex_key.trim())
            .map_err(|_| BadPublicKey)?
            .try_into()
            .map_err(|_| BadPublicKey)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| BadPublicKey)
    }

    /// Check a request: `signature` and `timestamp` are the header values, `now_secs`
    /// the current Unix time.
    ///
    /// # Errors
    /// [`SignatureError`].
    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now_secs: u64,
    ) -> Result<(), SignatureError> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(SignatureError::Missing);
        };
        let sig: [u8; 64] = hex::decode(signature.trim())
            .map_err(|_| SignatureError::Malformed)?
            .try_into()
            .map_err(|_| SignatureError::Malformed)?;
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        self.0
            .verify_strict(&message, &Signature::from_bytes(&sig))
            .map_err(|_| SignatureError::Invalid)?;
        let ts: u64 = timestamp.parse().map_err(|_| SignatureError::Stale)?;
        if ts.abs_diff(now_secs) > MAX_SKEW_SECS {
            return Err(SignatureError::Stale);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn keys() -> (SigningKey, PublicKey) {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let public = PublicKey::from_hex(&hex::encode(signing.verifying_key().as_bytes()))
            .expect("valid key");
        (signing, public)
    }

    #[test]
    fn good_signature_passes_and_any_change_fails() {
        let (signing, public) = keys();
        let body = br#"{"type":1}"#;
        let sig = hex::encode(signing.sign(b"1700000000{\"type\":1}").to_bytes());
        assert_eq!(
            public.verify(Some(&sig), Some("1700000000"), body, 1_700_000_010),
            Ok(())
        );
        assert_eq!(
            public.verify(Some(&sig), Some("1700000001"), body, 1_700_000_010),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            public.verify(
                Some(&sig),
                Some("1700000000"),
                b"{\"type\":2}",
                1_700_000_010
            ),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            public.verify(None, Some("1700000000"), body, 1_700_000_010),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            public.verify(Some("zz"), Some("1700000000"), body, 1_700_000_010),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            public.verify(Some(&sig), Some("1700000000"), body, 1_700_009_999),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in ["", "00", &"zz".repeat(32), &"ab".repeat(33)] {
            assert!(PublicKey::from_hex(bad).is_err(), "{bad}");
        }
    }
}
