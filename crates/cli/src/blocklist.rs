//! Mojang's blocked-servers list: which names the Java client checks, and where the
//! list comes from (the bundled snapshot, a file, or an http(s) URL).
//!
//! The list (<https://sessionserver.mojang.com/blockedservers>) holds SHA-1 hashes,
//! in lower-case hex, one per line. The vanilla client checks an address as Mojang's
//! `com.mojang.patchy.BlockedServers.apply` does (a public decompiled copy:
//! `improvement-association/com.mojang.patchy`, `com/mojang/patchy/BlockedServers.java`):
//!
//! 1. strip a leading `_minecraft._tcp.` and any trailing dots;
//! 2. check the address itself;
//! 3. split it on `.`; it is an IPv4 address when there are exactly four parts and
//!    each is an integer from 0 to 255;
//! 4. a name: check `*.` + the whole name, then drop the first label again and again,
//!    checking `*.` + the rest (`mc.example.net` → `*.mc.example.net`,
//!    `*.example.net`, `*.net`);
//! 5. an IPv4 address: drop the last part again and again, checking the rest + `.*`
//!    (`1.2.3.4` → `1.2.3.*`, `1.2.*`, `1.*`).
//!
//! Each candidate is hashed as `candidate.toLowerCase()` encoded in ISO-8859-1
//! (`BlockedServers.HASH_CHARSET`). Since 1.17 the client checks the host the player
//! typed, and again the resolved host name and IP (`AddressCheck` in the client), so
//! `diagnose` checks the host, every SRV target and every resolved IPv4 address.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use sha1::{Digest as _, Sha1};

/// The bundled snapshot of the list.
const BUNDLED: &str = include_str!("../assets/blockedservers.txt");

/// Where the live list is.
pub(crate) const LIVE_URL: &str = "https://sessionserver.mojang.com/blockedservers";

/// The largest list accepted from a file or URL (the real one is about 180 KB).
const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// The names the vanilla client checks for `address`, in its order (see the module
/// docs). Empty for an empty address.
pub(crate) fn candidates(address: &str) -> Vec<String> {
    let mut server = address.strip_prefix("_minecraft._tcp.").unwrap_or(address);
    server = server.trim_end_matches('.');
    if server.is_empty() {
        return Vec::new();
    }
    let mut out = vec![server.to_owned()];
    let mut parts: Vec<&str> = server.split('.').collect();
    let is_ip = parts.len() == 4
        && parts
            .iter()
            .all(|p| p.parse::<i64>().is_ok_and(|n| (0..=255).contains(&n)));
    if !is_ip {
        out.push(format!("*.{server}"));
    }
    while parts.len() > 1 {
        if is_ip {
            parts.pop();
            out.push(format!("{}.*", parts.join(".")));
        } else {
            parts.remove(0);
            out.push(format!("*.{}", parts.join(".")));
        }
    }
    out
}

/// The hash the list holds for `candidate`: SHA-1 of its lower-cased ISO-8859-1 bytes,
/// in lower-case hex. Characters outside ISO-8859-1 become `?`, as Java's encoder does.
pub(crate) fn hash(candidate: &str) -> String {
    let bytes: Vec<u8> = candidate
        .to_lowercase()
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    let digest = Sha1::digest(&bytes);
    let mut hex = String::with_capacity(40);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// A loaded list.
#[derive(Debug)]
pub(crate) struct Blocklist {
    hashes: HashSet<String>,
    /// Where it came from, for people: "blocklist snapshot of 2026-08-22", a path or a URL.
    pub(crate) source: String,
    /// Whether this is the bundled snapshot.
    pub(crate) bundled: bool,
}

/// A candidate found on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match {
    /// The name that was checked (host, SRV target or IP).
    pub(crate) name: String,
    /// The candidate (the name itself or a wildcard parent) whose hash is listed.
    pub(crate) candidate: String,
    pub(crate) hash: String,
}

impl Blocklist {
    /// Parses a list: one 40-digit hex hash per line; blank lines and `#` comments are
    /// skipped, as is anything else that is not a hash.
    ///
    /// # Errors
    /// When no line holds a hash (not a blocklist at all).
    pub(crate) fn parse(text: &str, source: String) -> Result<Self, String> {
        let hashes: HashSet<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.len() == 40 && l.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
            .collect();
        if hashes.is_empty() {
            return Err(format!(
                "{source} holds no SHA-1 hashes (expected 40 hex digits per line)"
            ));
        }
        Ok(Self {
            hashes,
            source,
            bundled: false,
        })
    }

    /// The snapshot bundled with the binary.
    pub(crate) fn bundled() -> Self {
        let date = BUNDLED
            .lines()
            .find_map(|l| l.strip_prefix("# snapshot-date:"))
            .map_or("unknown date", str::trim);
        let mut list = Self::parse(BUNDLED, format!("blocklist snapshot of {date}"))
            .unwrap_or_else(|_| Self {
                hashes: HashSet::new(),
                source: "empty blocklist".into(),
                bundled: true,
            });
        list.bundled = true;
        list
    }

    /// Reads a list from a file.
    ///
    /// # Errors
    /// A message for people when the file cannot be read or holds no hash.
    pub(crate) fn from_file(path: &str) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(format!("{path} is larger than {MAX_LIST_BYTES} bytes"));
        }
        Self::parse(&String::from_utf8_lossy(&bytes), path.to_owned())
    }

    /// Downloads a list from an http(s) URL within `timeout`.
    ///
    /// # Errors
    /// A message for people when the request fails, is not a success, is too large
    /// or holds no hash.
    pub(crate) async fn from_url(url: &str, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("mcstat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start an HTTP client: {e}"))?;
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {}", chain(&e)))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("cannot read {url}: {}", chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_LIST_BYTES {
                return Err(format!("{url} sent more than {MAX_LIST_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Self::parse(&String::from_utf8_lossy(&body), url.to_owned())
    }

    /// How many hashes the list holds.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// The first candidate of any of `names` that is on the list.
    pub(crate) fn check<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Option<Match> {
        for name in names {
            for candidate in candidates(name) {
                let hash = hash(&candidate);
                if self.hashes.contains(&hash) {
                    return Some(Match {
                        name: name.to_owned(),
                        candidate,
                        hash,
                    });
                }
            }
        }
        None
    }
}

/// An error with its causes, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_mojangs_rules() {
        assert_eq!(
            candidates("mc.example.com"),
            [
                "mc.example.com",
                "*.mc.example.com",
                "*.example.com",
                "*.com"
            ]
        );
        assert_eq!(
            candidates("_minecraft._tcp.Play.Example.net.."),
            [
                "Play.Example.net",
                "*.Play.Example.net",
                "*.Example.net",
                "*.net"
            ]
        );
        assert_eq!(
            candidates("127.0.0.1"),
            ["127.0.0.1", "127.0.0.*", "127.0.*", "127.*"]
        );
        // Not an IPv4 address: five parts, or a part above 255.
        assert_eq!(candidates("1.2.3.256")[1], "*.1.2.3.256");
        assert_eq!(candidates("localhost"), ["localhost", "*.localhost"]);
        assert!(candidates("").is_empty());
        assert!(candidates("...").is_empty());
    }

    #[test]
    fn hashes_match_sha1sum() {
        // `printf '%s' '*.example.com' | sha1sum` and friends.
        assert_eq!(
            hash("*.example.com"),
            "8c7122d652cb7be22d1986f1f30b07fd5108d9c0"
        );
        assert_eq!(
            hash("mc.example.com"),
            "5303a76c19617a55ae2c2102319038f225fcc328"
        );
        assert_eq!(
            hash("127.0.0.*"),
            "426e28604fd685f5b41f557798f548e6357004d9"
        );
        // Lower-cased before hashing.
        assert_eq!(hash("*.COM"), "69120e54f25786e49950f8ddedb41f26964f1a75");
    }

    #[test]
    fn check_finds_wildcard_parents() {
        let list = Blocklist::parse(
            "# test\n8C7122D652CB7BE22D1986F1F30B07FD5108D9C0\nnot a hash\n",
            "test".into(),
        )
        .expect("list");
        assert_eq!(list.len(), 1);
        let m = list
            .check(["safe.org", "play.mc.example.com"])
            .expect("match");
        assert_eq!(m.name, "play.mc.example.com");
        assert_eq!(m.candidate, "*.example.com");
        assert!(list.check(["example.org", "10.0.0.1"]).is_none());
        assert!(Blocklist::parse("nothing here\n", "x".into()).is_err());
    }

    #[test]
    fn bundled_snapshot_loads_with_its_date() {
        let list = Blocklist::bundled();
        assert!(list.len() > 1000, "{}", list.len());
        assert_eq!(list.source, "blocklist snapshot of 2026-08-22");
        assert!(list.check(["play.example.net"]).is_none());
    }
}
