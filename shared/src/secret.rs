//! Secrets as the verification schemes see them: redacted values labelled with the
//! Secrets Manager version stage they came from.

use std::fmt;

/// HMAC-SHA256, the MAC every signing provider here uses. It lives here, with the keyed state a
/// [`Secret`] carries, so that `verify` depends on `secret` and never the other way round.
pub type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A provider secret (HMAC key or bearer token). `Debug` and `Display` never print it.
#[derive(Clone)]
pub struct Secret {
    value: String,
    /// HMAC-SHA256 after the key schedule (the ipad and opad blocks). Secrets are loaded once and
    /// cached, so keying here rather than per request saves two SHA-256 blocks per MAC, a
    /// quarter of the work at 256 B bodies. As sensitive as `value`: never printed either.
    keyed: HmacSha256,
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let keyed = <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(value.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Self { value, keyed }
    }

    /// The secret's bytes, for keying a MAC or comparing a token. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        self.value.as_bytes()
    }

    /// True when the value is empty (an unusable secret).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// A fresh HMAC-SHA256 keyed with this secret, ready for the message.
    pub fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }
}

/// Equal values make equal secrets: the keyed state is derived from the value.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which version of a rotating secret matched, named after the Secrets Manager staging labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretVersion {
    /// `AWSCURRENT`: the secret in force.
    Current,
    /// `AWSPREVIOUS`: the secret before the last rotation, still accepted.
    Previous,
}

impl SecretVersion {
    /// The Secrets Manager staging label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Current => "AWSCURRENT",
            Self::Previous => "AWSPREVIOUS",
        }
    }

    /// The version whose staging label is `label`; `None` for any other label.
    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Current, Self::Previous]
            .into_iter()
            .find(|version| version.label() == label)
    }
}

/// One candidate secret and the version it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedSecret {
    /// The staging label this value carries.
    pub version: SecretVersion,
    /// The value.
    pub secret: Secret,
}

impl VersionedSecret {
    /// The current secret.
    pub fn current(value: impl Into<String>) -> Self {
        Self {
            version: SecretVersion::Current,
            secret: Secret::new(value),
        }
    }

    /// The previous secret.
    pub fn previous(value: impl Into<String>) -> Self {
        Self {
            version: SecretVersion::Previous,
            secret: Secret::new(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let secret = Secret::new("hunter2-super-secret");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let versioned = VersionedSecret::previous("hunter2-super-secret");
        assert!(!format!("{versioned:?}").contains("hunter2"));
    }

    #[test]
    fn the_keyed_mac_is_hmac_sha256_of_the_value() {
        use hmac::Mac as _;
        // RFC 4231 test case 2.
        let mut mac = Secret::new("Jefe").mac();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(Secret::new("Jefe"), Secret::new(String::from("Jefe")));
        assert_ne!(Secret::new("Jefe"), Secret::new("jefe"));
    }

    #[test]
    fn labels_are_the_secrets_manager_stages() {
        assert_eq!(SecretVersion::Current.label(), "AWSCURRENT");
        assert_eq!(SecretVersion::Previous.label(), "AWSPREVIOUS");
        for version in [SecretVersion::Current, SecretVersion::Previous] {
            assert_eq!(SecretVersion::from_label(version.label()), Some(version));
        }
        assert_eq!(SecretVersion::from_label("AWSPENDING"), None);
    }
}
