//! Forge's additions to the status JSON.
//!
//! - **FML1** (Forge 1.7–1.12): a top-level `modinfo` object,
//!   `{"type": "FML", "modList": [{"modid": "...", "version": "..."}]}` ([`ModInfo`]).
//! - **FML2** (1.13–1.17): a top-level `forgeData` object with `channels`
//!   (`{res, version, required}`), `mods` (`{modId, modmarker}`) and
//!   `fmlNetworkVersion` ([`ForgeData`]).
//! - **FML3** (1.18+): the same `forgeData`, with empty `channels`/`mods` and the real
//!   lists packed into a binary blob stored in the string `d` ([`PackedForgeData`]).
//!
//! # The `d` encoding
//! Forge writes a binary buffer (below) and packs it into a string that costs few
//! UTF-16 code units: the first two code units hold the byte length (15 bits each,
//! low half first); every following code unit carries 15 more bits of the buffer,
//! least significant bits first. Code units are always `< 0x8000`, so the string is
//! ordinary text. The buffer is
//!
//! ```text
//! truncated: bool (1 byte)
//! mod_count: u16 big-endian
//! mod_count × { flags: VarInt = channel_count << 1 | server_only,
//!               mod_id: String, version: String (absent when server_only),
//!               channel_count × { path: String, version: String, required: bool } }
//! non_mod_channel_count: VarInt
//! non_mod_channel_count × { resource: String, version: String, required: bool }
//! ```
//! where a `String` is a VarInt byte length and UTF-8 (at most 32767 UTF-16 units).
//! A channel listed under a mod is named `mod_id:path`.
//!
//! Forge's own encoder drops the top bits of the last byte in some lengths (it flushes
//! at most 15 of up to 22 buffered bits at the end); its decoder, and ours, fill the
//! missing bits with zeros, which is harmless because the last byte is a boolean or a
//! zero count. [`encode_optimized`] writes every bit.
//!
//! Bad mod data never fails the status: [`super::JavaStatus`] keeps an unparsable
//! `modinfo`/`forgeData` raw in a [`super::Lenient::Invalid`], and
//! [`ForgeData::decode_packed`] returns a `Result` the caller may ignore.

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, DecodeResult, Reader, VarInt, cautious_capacity, write_string};

/// FML1's `modinfo` object (Forge 1.7–1.12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModInfo {
    /// `"FML"` on Forge servers.
    #[serde(rename = "type")]
    pub kind: String,
    /// The installed mods.
    #[serde(rename = "modList")]
    pub mod_list: Vec<Fml1Mod>,
}

/// One mod in FML1's `modList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fml1Mod {
    /// The mod id (`"mcp"`, `"FML"`, `"Forge"`, ...).
    #[serde(rename = "modid")]
    pub mod_id: String,
    /// The mod's version.
    pub version: String,
}

/// FML2/FML3's `forgeData` object (Forge 1.13+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgeData {
    /// Network channels (FML2; empty in FML3, whose channels are in `d`).
    #[serde(default)]
    pub channels: Vec<ForgeChannel>,
    /// Mods (FML2; empty in FML3, whose mods are in `d`).
    #[serde(default)]
    pub mods: Vec<ForgeMod>,
    /// FML's network protocol version (2 or 3).
    #[serde(
        rename = "fmlNetworkVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fml_network_version: Option<i32>,
    /// Whether the lists were cut to fit the packet (FML3 always says `true` here
    /// for old clients; the packed data carries the real flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// FML3's packed mods and channels; see the [module docs](self) and
    /// [`Self::decode_packed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
}

/// One network channel in FML2's `channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgeChannel {
    /// The channel's resource location (`"fml:handshake"`).
    pub res: String,
    /// The channel's version.
    pub version: String,
    /// Whether a client needs the channel to join.
    pub required: bool,
}

/// One mod in FML2's `mods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgeMod {
    /// The mod id (`modId`; `modid` is accepted too).
    #[serde(rename = "modId", alias = "modid")]
    pub mod_id: String,
    /// The mod's marker, usually its version (`"ANY"`, `"OHNOES..."` for server-only
    /// mods).
    pub modmarker: String,
}

impl ForgeData {
    /// Decodes the FML3 `d` string, if there is one.
    ///
    /// # Errors
    /// The inner `Result` is an error when `d` is not valid packed data; the status
    /// itself stays usable.
    pub fn decode_packed(&self) -> Option<DecodeResult<PackedForgeData>> {
        self.d.as_deref().map(PackedForgeData::decode_str)
    }
}

/// FML3's packed mods and channels (the decoded `d`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackedForgeData {
    /// Whether the server cut the lists to stay under its size limit.
    pub truncated: bool,
    /// The mods, each with the channels in its namespace.
    pub mods: Vec<PackedMod>,
    /// Channels outside every mod's namespace.
    pub non_mod_channels: Vec<ForgeChannel>,
}

/// One mod in FML3's packed data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackedMod {
    /// The mod id.
    pub mod_id: String,
    /// The mod's version; `None` for a server-only mod (Forge's
    /// `IGNORESERVERONLY` marker, sent as a flag instead of a string).
    pub version: Option<String>,
    /// The mod's channels, named by their path within the mod's namespace.
    pub channels: Vec<PackedChannel>,
}

/// A channel listed under its mod in FML3's packed data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackedChannel {
    /// The path part of `mod_id:path`.
    pub path: String,
    /// The channel's version.
    pub version: String,
    /// Whether a client needs the channel to join.
    pub required: bool,
}

/// The most UTF-16 code units in a packed string (Forge's `readUtf` default).
const MAX_PACKED_STRING: usize = 32767;

fn read_packed_string(r: &mut Reader<'_>) -> DecodeResult<String> {
    let s = r.read_string(MAX_PACKED_STRING * 3)?;
    let units = s.encode_utf16().count();
    if units > MAX_PACKED_STRING {
        return Err(DecodeError::StringTooLong {
            len: units as u64,
            max: MAX_PACKED_STRING,
        });
    }
    Ok(s.to_owned())
}

fn read_bool(r: &mut Reader<'_>) -> DecodeResult<bool> {
    // As Java's `readBoolean`: any non-zero byte is true.
    Ok(r.read_u8()? != 0)
}

fn read_count(r: &mut Reader<'_>, field: &'static str) -> DecodeResult<usize> {
    let n = r.read_varint()?;
    usize::try_from(n).map_err(|_| DecodeError::InvalidField {
        field,
        reason: format!("negative count {n}"),
    })
}

impl PackedForgeData {
    /// Decodes the packed `d` string (both layers: the UTF-16 packing and the
    /// binary buffer).
    ///
    /// A list cut short is accepted when the data says it was truncated; bytes after
    /// the last channel are ignored, as Forge does.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] for a bad packing, or any buffer error
    /// ([`DecodeError::UnexpectedEof`], [`DecodeError::InvalidText`], ...).
    pub fn decode_str(d: &str) -> DecodeResult<Self> {
        Self::decode_bytes(&decode_optimized(d)?)
    }

    /// Decodes the binary buffer (already unpacked from its string).
    ///
    /// # Errors
    /// As [`Self::decode_str`].
    pub fn decode_bytes(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        let truncated = read_bool(&mut r)?;
        let mut out = Self {
            truncated,
            ..Self::default()
        };
        match out.read_lists(&mut r) {
            Ok(()) => Ok(out),
            Err(DecodeError::UnexpectedEof { .. }) if truncated => Ok(out),
            Err(e) => Err(e),
        }
    }

    fn read_lists(&mut self, r: &mut Reader<'_>) -> DecodeResult<()> {
        let mod_count = usize::from(r.read_u16_be()?);
        self.mods
            .reserve(cautious_capacity(mod_count, r.remaining()));
        for _ in 0..mod_count {
            let flags = r.read_varint()?;
            // Java's `>>> 1`: unsigned shift.
            let channel_count = (flags as u32 >> 1) as usize;
            let server_only = flags & 1 != 0;
            let mod_id = read_packed_string(r)?;
            let version = if server_only {
                None
            } else {
                Some(read_packed_string(r)?)
            };
            let mut channels = Vec::with_capacity(cautious_capacity(channel_count, r.remaining()));
            for _ in 0..channel_count {
                channels.push(PackedChannel {
                    path: read_packed_string(r)?,
                    version: read_packed_string(r)?,
                    required: read_bool(r)?,
                });
            }
            self.mods.push(PackedMod {
                mod_id,
                version,
                channels,
            });
        }
        let count = read_count(r, "non-mod channel count")?;
        self.non_mod_channels
            .reserve(cautious_capacity(count, r.remaining()));
        for _ in 0..count {
            self.non_mod_channels.push(ForgeChannel {
                res: read_packed_string(r)?,
                version: read_packed_string(r)?,
                required: read_bool(r)?,
            });
        }
        Ok(())
    }

    /// The binary buffer. A mod list longer than `u16::MAX` or a channel list longer
    /// than `i32::MAX >> 1` is cut (and `truncated` set), never wrapped.
    pub fn encode_bytes(&self) -> Vec<u8> {
        let mods = self.mods.len().min(usize::from(u16::MAX));
        let truncated = self.truncated || mods < self.mods.len();
        let mut out = vec![u8::from(truncated)];
        out.extend_from_slice(&(mods as u16).to_be_bytes());
        for m in self.mods.iter().take(mods) {
            let channels = m.channels.len().min((i32::MAX >> 1) as usize);
            let flags = ((channels as i32) << 1) | i32::from(m.version.is_none());
            VarInt(flags).encode(&mut out);
            write_string(&mut out, &m.mod_id);
            if let Some(v) = &m.version {
                write_string(&mut out, v);
            }
            for c in m.channels.iter().take(channels) {
                write_string(&mut out, &c.path);
                write_string(&mut out, &c.version);
                out.push(u8::from(c.required));
            }
        }
        let count = i32::try_from(self.non_mod_channels.len()).unwrap_or(i32::MAX);
        VarInt(count).encode(&mut out);
        for c in self.non_mod_channels.iter().take(count as usize) {
            write_string(&mut out, &c.res);
            write_string(&mut out, &c.version);
            out.push(u8::from(c.required));
        }
        out
    }

    /// The `d` string: [`Self::encode_bytes`] packed by [`encode_optimized`].
    pub fn encode_str(&self) -> String {
        encode_optimized(&self.encode_bytes())
    }

    /// Every channel with its full name (`mod_id:path` for a mod's channels),
    /// mods' channels first.
    pub fn all_channels(&self) -> Vec<ForgeChannel> {
        self.mods
            .iter()
            .flat_map(|m| {
                m.channels.iter().map(|c| ForgeChannel {
                    res: format!("{}:{}", m.mod_id, c.path),
                    version: c.version.clone(),
                    required: c.required,
                })
            })
            .chain(self.non_mod_channels.iter().cloned())
            .collect()
    }
}

/// The largest buffer [`encode_optimized`] can describe: its length has 30 bits.
pub const MAX_OPTIMIZED_LEN: usize = (1 << 30) - 1;

fn unit_char(unit: u32) -> char {
    // Every value below 0x8000 is a valid (non-surrogate) char.
    char::from_u32(unit & 0x7fff).unwrap_or_default()
}

/// Packs bytes into Forge's UTF-16-optimised string (15 bits per code unit, see the
/// [module docs](self)). Input longer than [`MAX_OPTIMIZED_LEN`] is cut to it.
pub fn encode_optimized(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(MAX_OPTIMIZED_LEN)];
    let len = bytes.len() as u32;
    let mut s = String::with_capacity(bytes.len() * 8 / 15 * 3 + 8);
    s.push(unit_char(len));
    s.push(unit_char(len >> 15));
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer |= u32::from(b) << bits;
        bits += 8;
        while bits >= 15 {
            s.push(unit_char(buffer));
            buffer >>= 15;
            bits -= 15;
        }
    }
    if bits > 0 {
        s.push(unit_char(buffer));
    }
    s
}

/// Unpacks Forge's UTF-16-optimised string into bytes (see the [module
/// docs](self)).
///
/// # Errors
/// [`DecodeError::InvalidField`] (field `forgeData.d`) when the string is shorter
/// than its two length units or announces more bytes than its units can carry (one
/// byte of slack is allowed for Forge's own encoder, which may drop the last bits).
pub fn decode_optimized(d: &str) -> DecodeResult<Vec<u8>> {
    let bad = |reason: &str| DecodeError::InvalidField {
        field: "forgeData.d",
        reason: reason.to_owned(),
    };
    let mut units = d.encode_utf16().map(|u| u32::from(u) & 0x7fff);
    let (Some(lo), Some(hi)) = (units.next(), units.next()) else {
        return Err(bad("shorter than its length header"));
    };
    let size = (lo | (hi << 15)) as usize;
    let data_units = d.encode_utf16().count().saturating_sub(2);
    let capacity = data_units.saturating_mul(15) / 8;
    if size > capacity.saturating_add(1) {
        return Err(bad("announces more bytes than it carries"));
    }
    let mut out = Vec::with_capacity(size);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for unit in units {
        while bits >= 8 {
            out.push(buffer as u8);
            buffer >>= 8;
            bits -= 8;
        }
        buffer |= unit << bits;
        bits += 15;
    }
    while out.len() < size {
        out.push(buffer as u8);
        buffer >>= 8;
    }
    out.truncate(size);
    Ok(out)
}

/// One mod, whichever FML version listed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModEntry {
    /// The mod id.
    pub id: String,
    /// Its version or marker; `None` for a server-only mod in FML3 data.
    pub version: Option<String>,
}

/// The mods of an FML1 `modinfo` and/or an FML2/3 `forgeData`, preferring FML3's
/// packed data when it decodes, then FML2's `mods`, then FML1's `modList`.
pub(crate) fn unified_mods(mod_info: Option<&ModInfo>, forge: Option<&ForgeData>) -> Vec<ModEntry> {
    if let Some(forge) = forge {
        if let Some(Ok(packed)) = forge.decode_packed() {
            return packed
                .mods
                .into_iter()
                .map(|m| ModEntry {
                    id: m.mod_id,
                    version: m.version,
                })
                .collect();
        }
        if !forge.mods.is_empty() {
            return forge
                .mods
                .iter()
                .map(|m| ModEntry {
                    id: m.mod_id.clone(),
                    version: Some(m.modmarker.clone()),
                })
                .collect();
        }
    }
    mod_info
        .map(|info| {
            info.mod_list
                .iter()
                .map(|m| ModEntry {
                    id: m.mod_id.clone(),
                    version: Some(m.version.clone()),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> PackedForgeData {
        PackedForgeData {
            truncated: false,
            mods: vec![
                PackedMod {
                    mod_id: "forge".into(),
                    version: Some("ANY".into()),
                    channels: vec![
                        PackedChannel {
                            path: "tier_sorting".into(),
                            version: "1.0".into(),
                            required: false,
                        },
                        PackedChannel {
                            path: "split".into(),
                            version: "1.1".into(),
                            required: true,
                        },
                    ],
                },
                PackedMod {
                    mod_id: "serveronly".into(),
                    version: None,
                    channels: vec![],
                },
            ],
            non_mod_channels: vec![ForgeChannel {
                res: "minecraft:unregister".into(),
                version: "FML3".into(),
                required: true,
            }],
        }
    }

    #[test]
    fn packed_buffer_vector() {
        let bytes = sample().encode_bytes();
        let expected = concat!(
            "00",   // not truncated
            "0002", // two mods
            "04",
            "05666f726765",
            "03414e59", // 2 channels, "forge", "ANY"
            "0c",
            "746965725f736f7274696e67",
            "03312e30",
            "00",
            "05",
            "73706c6974",
            "03312e31",
            "01",
            "01",
            "0a7365727665726f6e6c79", // 0 channels, server-only
            "01",                     // one non-mod channel
            "146d696e6563726166743a756e7265676973746572",
            "0446 4d4c33",
            "01",
        )
        .replace(' ', "");
        assert_eq!(hex::encode(&bytes), expected);
        assert_eq!(PackedForgeData::decode_bytes(&bytes), Ok(sample()));
    }

    #[test]
    fn optimized_vectors() {
        // 3 bytes 01 02 03: length units (3, 0), then 24 bits in two units: bits
        // 0..15 = 0x0201, then bit 15 (0) and byte 03 shifted left by one = 0x0006.
        let s = encode_optimized(&[1, 2, 3]);
        let units: Vec<u16> = s.encode_utf16().collect();
        assert_eq!(units, vec![3, 0, 0x0201, 0x0006]);
        assert_eq!(decode_optimized(&s), Ok(vec![1, 2, 3]));
        // Length above 15 bits uses the second unit.
        let big = vec![0xa5u8; 40_000];
        let s = encode_optimized(&big);
        let units: Vec<u16> = s.encode_utf16().take(2).collect();
        assert_eq!(units, vec![40_000 & 0x7fff, 40_000 >> 15]);
        assert_eq!(decode_optimized(&s), Ok(big));
    }

    #[test]
    fn real_forge_1_20_1_d_string() {
        // `d` from a Forge 1.20.1 server (also a vector in mcstatus' test suite),
        // as UTF-8 bytes of the JSON string's value.
        let utf8 = hex::decode(concat!(
            "5e0000e0a084e390a4e78d8be39996e2b98ce1a698ccbae2b8b1e681a4e492b8e2a191e29ba7e6b2aee5a",
            "999e3a8b9e789a5e0b088e384b5e0a69ae28280e6b2aee5a999e3a8b9e789a5e0b088e384b5e0a69ae581",
            "80e6b380e5b29be38ab3e48483e38a9ce580b1e2ad8be79ca6e6b9abe1b29be392bae69daee68886e482b",
            "8e2a081dcb0e2b68ee5b49ae1a281e384ae02",
        ))
        .expect("hex");
        let d = String::from_utf8(utf8).expect("utf-8");
        let packed = PackedForgeData::decode_str(&d).expect("decodes");
        assert!(!packed.truncated);
        let mods: Vec<(&str, Option<&str>)> = packed
            .mods
            .iter()
            .map(|m| (m.mod_id.as_str(), m.version.as_deref()))
            .collect();
        assert_eq!(
            mods,
            [("minecraft", Some("1.20.1")), ("forge", Some("ANY"))]
        );
        let channels: Vec<(String, String, bool)> = packed
            .all_channels()
            .into_iter()
            .map(|c| (c.res, c.version, c.required))
            .collect();
        assert_eq!(
            channels,
            [
                ("minecraft:unregister".into(), "FML3".into(), true),
                ("minecraft:register".into(), "FML3".into(), true),
                ("forge:tier_sorting".into(), "1.0".into(), false),
                ("forge:split".into(), "1.1".into(), true),
            ]
        );
        // Our encoder writes the same buffer (its packing may differ in the last unit).
        assert_eq!(decode_optimized(&packed.encode_str()), decode_optimized(&d));
    }

    #[test]
    fn forge_encoder_quirk_is_tolerated() {
        // Forge's encoder writes 2 bytes (16 bits) as a single 15-bit unit, dropping
        // the top bit of the last byte: [0x01, 0x00] packs to units (2, 0, 0x0001).
        let s: String = [2u16, 0, 1]
            .iter()
            .map(|&u| unit_char(u32::from(u)))
            .collect();
        assert_eq!(decode_optimized(&s), Ok(vec![1, 0]));
    }

    #[test]
    fn bad_packing_is_an_error_not_a_panic() {
        assert!(decode_optimized("").is_err());
        assert!(decode_optimized("\u{1}").is_err());
        // Announces 2^30-1 bytes with no data.
        assert!(decode_optimized("\u{7fff}\u{7fff}").is_err());
        // A list cut short without the truncated flag is an error ...
        let mut bytes = sample().encode_bytes();
        bytes.truncate(10);
        assert!(PackedForgeData::decode_bytes(&bytes).is_err());
        // ... with it, the mods read so far are kept.
        bytes[0] = 1;
        let partial = PackedForgeData::decode_bytes(&bytes).expect("truncated is fine");
        assert!(partial.truncated);
        assert!(partial.mods.is_empty());
    }

    #[test]
    fn all_channels_names_mod_channels() {
        let names: Vec<String> = sample().all_channels().into_iter().map(|c| c.res).collect();
        assert_eq!(
            names,
            ["forge:tier_sorting", "forge:split", "minecraft:unregister"]
        );
    }

    fn packed() -> impl Strategy<Value = PackedForgeData> {
        let channel =
            ("[a-z_]{0,12}", "[0-9.]{0,6}", any::<bool>()).prop_map(|(path, version, required)| {
                PackedChannel {
                    path,
                    version,
                    required,
                }
            });
        let m = (
            "\\PC{0,12}",
            proptest::option::of("\\PC{0,8}"),
            proptest::collection::vec(channel, 0..4),
        )
            .prop_map(|(mod_id, version, channels)| PackedMod {
                mod_id,
                version,
                channels,
            });
        let nm = ("[a-z]{1,8}:[a-z]{1,8}", "\\PC{0,6}", any::<bool>()).prop_map(
            |(res, version, required)| ForgeChannel {
                res,
                version,
                required,
            },
        );
        (
            any::<bool>(),
            proptest::collection::vec(m, 0..6),
            proptest::collection::vec(nm, 0..4),
        )
            .prop_map(|(truncated, mods, non_mod_channels)| PackedForgeData {
                truncated,
                mods,
                non_mod_channels,
            })
    }

    proptest! {
        #[test]
        fn optimized_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let s = encode_optimized(&bytes);
            prop_assert!(s.encode_utf16().all(|u| u < 0x8000));
            prop_assert_eq!(decode_optimized(&s), Ok(bytes));
        }

        #[test]
        fn packed_round_trip(p in packed()) {
            prop_assert_eq!(PackedForgeData::decode_str(&p.encode_str()), Ok(p));
        }

        #[test]
        fn packed_decoders_never_panic(s in "\\PC{0,40}", bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = PackedForgeData::decode_str(&s);
            let _ = PackedForgeData::decode_bytes(&bytes);
        }
    }
}
