use super::*;
use proptest::prelude::*;

fn unhex(h: &str) -> Vec<u8> {
    hex::decode(h.split_whitespace().collect::<String>()).expect("hex")
}

fn bytes_of(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

/// Hex of a NUL-terminated Latin-1 string.
fn cstr(s: &[u8]) -> String {
    let mut h = hex::encode(s);
    h.push_str("00");
    h
}

const SID: SessionId = SessionId(0x0000_0001);

#[test]
fn request_vectors() {
    let vectors = [
        (
            "fefd09 01020304",
            QueryRequestC2s::Handshake(HandshakeC2s {
                session_id: SessionId(0x0102_0304),
            }),
        ),
        (
            "fefd00 00000001 0091295b",
            QueryRequestC2s::BasicStat(BasicStatC2s {
                session_id: SID,
                token: 9_513_307,
            }),
        ),
        (
            "fefd00 00000001 0091295b 00000000",
            QueryRequestC2s::FullStat(FullStatC2s {
                session_id: SID,
                token: 9_513_307,
            }),
        ),
        (
            "fefd00 0f0f0f0f ffffcfc7",
            QueryRequestC2s::BasicStat(BasicStatC2s {
                session_id: SessionId(0x0F0F_0F0F),
                token: -12345,
            }),
        ),
    ];
    for (h, request) in vectors {
        assert_eq!(request.to_bytes(), unhex(h), "encode {request:?}");
        assert_eq!(
            QueryRequestC2s::decode(&unhex(h)),
            Ok(request),
            "decode {h}"
        );
    }
}

#[test]
fn qstat_full_request_padding_is_ignored() {
    // What `quakestat -gs4` sends after a handshake answered with -12345.
    let request = QueryRequestC2s::decode(&unhex("fefd00 10203040 ffffcfc7 ffffff01"));
    assert_eq!(
        request,
        Ok(QueryRequestC2s::FullStat(FullStatC2s {
            session_id: SessionId(0x1020_3040),
            token: -12345,
        }))
    );
}

#[test]
fn bad_requests_are_refused() {
    assert_eq!(
        QueryRequestC2s::decode(&unhex("fefe09 01020304")),
        Err(DecodeError::BadMagic {
            what: "query request"
        })
    );
    assert_eq!(
        QueryRequestC2s::decode(&unhex("fefd07 01020304")),
        Err(DecodeError::UnexpectedPacketId {
            expected: 0,
            found: 7
        })
    );
    assert!(matches!(
        QueryRequestC2s::decode(&unhex("fefd09 010203")),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert_eq!(
        QueryRequestC2s::decode(&unhex("fefd09 01020304 00")),
        Err(DecodeError::TrailingBytes(1))
    );
    assert!(matches!(
        QueryRequestC2s::decode(&unhex("fefd00 01020304 00000001 00")),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert_eq!(
        QueryRequestC2s::decode(&unhex("fefd00 01020304 00000001 00000000 00")),
        Err(DecodeError::TrailingBytes(1))
    );
    assert!(matches!(
        QueryRequestC2s::decode(&vec![0; MAX_DATAGRAM + 1]),
        Err(DecodeError::FrameTooLarge { .. })
    ));
}

#[test]
fn handshake_answer_vectors() {
    let vectors = [
        ("09 00000001 3935313333303700", 9_513_307),
        // A negative token, as some servers send.
        ("09 00000001 2d313233343500", -12345),
        ("09 00000001 3000", 0),
        ("09 00000001 2d3231343734383336343800", i32::MIN),
    ];
    for (h, token) in vectors {
        let answer = HandshakeS2c {
            session_id: SID,
            token,
        };
        assert_eq!(bytes_of(|o| answer.encode(o)), unhex(h), "encode {token}");
        assert_eq!(HandshakeS2c::decode(&unhex(h)), Ok(answer), "decode {h}");
    }
}

#[test]
fn handshake_answer_edge_cases() {
    // A token printed unsigned keeps its 32 bits.
    let h = format!("09 00000001 {}", cstr(b"4294954951"));
    assert_eq!(
        HandshakeS2c::decode(&unhex(&h)).map(|a| a.token),
        Ok(-12345)
    );
    for bad in [
        &b"4294967296"[..],
        b"",
        b"12a",
        b"--1",
        b"99999999999999999999999",
    ] {
        let h = format!("09 00000001 {}", cstr(bad));
        assert!(
            matches!(
                HandshakeS2c::decode(&unhex(&h)),
                Err(DecodeError::InvalidField {
                    field: "challenge token",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    // Without its NUL, with bytes after it, with the wrong type.
    assert!(matches!(
        HandshakeS2c::decode(&unhex("09 00000001 3132")),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert_eq!(
        HandshakeS2c::decode(&unhex("09 00000001 313200 00")),
        Err(DecodeError::TrailingBytes(1))
    );
    assert_eq!(
        HandshakeS2c::decode(&unhex("00 00000001 313200")),
        Err(DecodeError::UnexpectedPacketId {
            expected: 9,
            found: 0
        })
    );
}

fn vanilla_basic() -> QueryBasic {
    QueryBasic {
        motd: "A Minecraft Server".into(),
        game_type: "SMP".into(),
        map: "world".into(),
        online: 2,
        max: 20,
        host_port: 25565,
        host_ip: "127.0.0.1".into(),
    }
}

const BASIC_HEX: &str = "00 00000001
    41204d696e6563726166742053657276657200 534d5000 776f726c6400 3200 323000
    dd63 3132372e302e302e3100";

#[test]
fn basic_stat_vector() {
    let answer = BasicStatS2c {
        session_id: SID,
        stat: vanilla_basic(),
    };
    assert_eq!(bytes_of(|o| answer.encode(o)), unhex(BASIC_HEX));
    assert_eq!(BasicStatS2c::decode(&unhex(BASIC_HEX)), Ok(answer));
}

#[test]
fn basic_stat_errors() {
    let full = unhex(BASIC_HEX);
    for cut in 0..full.len() {
        assert!(BasicStatS2c::decode(&full[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = full;
    trailing.push(0);
    assert_eq!(
        BasicStatS2c::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
    let h = format!(
        "00 00000001 {} {} {} {} {} dd63 {}",
        cstr(b"m"),
        cstr(b"SMP"),
        cstr(b"w"),
        cstr(b"two"),
        cstr(b"20"),
        cstr(b"")
    );
    assert!(matches!(
        BasicStatS2c::decode(&unhex(&h)),
        Err(DecodeError::InvalidField {
            field: "numplayers",
            ..
        })
    ));
}

#[test]
fn latin1_text_and_replacement() {
    // `§` is 0xA7 in Latin-1; `é` 0xE9; a char above U+00FF becomes `?`, and so does a
    // NUL outside the hostname.
    let mut stat = vanilla_basic();
    stat.motd = "§aHé\u{2603}\0".into();
    let bytes = bytes_of(|o| {
        BasicStatS2c {
            session_id: SID,
            stat: stat.clone(),
        }
        .encode(o);
    });
    assert_eq!(&bytes[5..12], b"\xa7aH\xe9??\0");
    let decoded = BasicStatS2c::decode(&bytes).expect("decode");
    assert_eq!(decoded.stat.motd, "§aHé??");
}

fn vanilla_full() -> QueryFull {
    QueryFull {
        motd: "A Minecraft Server".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.21.4".into(),
        plugins: QueryPlugins::parse("Paper on 1.21.4: WorldEdit 7.3.9; Essentials"),
        map: "world".into(),
        online: 2,
        max: 20,
        host_port: 25565,
        host_ip: "127.0.0.1".into(),
        players: vec!["Notch".into(), "jeb_".into()],
        extra: vec![],
    }
}

/// The full stat of [`vanilla_full`] as hex, built from its parts.
fn full_hex(kv: &[(&[u8], &[u8])], players: &[&[u8]]) -> String {
    let mut h = String::from("00 00000001 73706c69746e756d008000 ");
    for (k, v) in kv {
        h += &cstr(k);
        h += &cstr(v);
    }
    h += "00 01706c617965725f0000 ";
    for p in players {
        h += &cstr(p);
    }
    h + "00"
}

fn vanilla_kv() -> Vec<(&'static [u8], &'static [u8])> {
    vec![
        (b"hostname", b"A Minecraft Server"),
        (b"gametype", b"SMP"),
        (b"game_id", b"MINECRAFT"),
        (b"version", b"1.21.4"),
        (b"plugins", b"Paper on 1.21.4: WorldEdit 7.3.9; Essentials"),
        (b"map", b"world"),
        (b"numplayers", b"2"),
        (b"maxplayers", b"20"),
        (b"hostport", b"25565"),
        (b"hostip", b"127.0.0.1"),
    ]
}

/// A vanilla full stat: padding, the ten keys in vanilla order, the empty key, the
/// player padding, two names, the empty name.
const FULL_HEX: &str = "00 00000001 73706c69746e756d008000
     686f73746e616d6500 41204d696e6563726166742053657276657200
     67616d657479706500 534d5000
     67616d655f696400 4d494e45435241465400
     76657273696f6e00 312e32312e3400
     706c7567696e7300 5061706572206f6e20312e32312e343a20576f726c644564697420372e332e393b20457373656e7469616c7300
     6d617000 776f726c6400
     6e756d706c617965727300 3200
     6d6178706c617965727300 323000
     686f7374706f727400 323535363500
     686f7374697000 3132372e302e302e3100
     00 01706c617965725f0000 4e6f74636800 6a65625f00 00";

#[test]
fn full_stat_vector() {
    assert_eq!(
        unhex(FULL_HEX),
        unhex(&full_hex(&vanilla_kv(), &[b"Notch", b"jeb_"]))
    );
    let answer = FullStatS2c {
        session_id: SID,
        stat: vanilla_full(),
    };
    assert_eq!(bytes_of(|o| answer.encode(o)), unhex(FULL_HEX));
    let decoded = FullStatS2c::decode(&unhex(FULL_HEX)).expect("decode");
    assert_eq!(decoded, answer);
    assert_eq!(decoded.stat.plugins.server_mod, "Paper on 1.21.4");
    assert_eq!(
        decoded.stat.plugins.plugins,
        ["WorldEdit 7.3.9", "Essentials"]
    );
}

#[test]
fn full_stat_without_players_and_vanilla_plugins() {
    let mut kv = vanilla_kv();
    kv[4].1 = b"";
    let h = full_hex(&kv, &[]);
    let stat = FullStatS2c::decode(&unhex(&h)).expect("decode").stat;
    assert!(stat.players.is_empty());
    assert_eq!(stat.plugins, QueryPlugins::default());
}

#[test]
fn full_stat_keys_in_any_order_and_unknown_keys_kept() {
    let mut kv = vanilla_kv();
    kv.reverse();
    kv.insert(3, (b"whitelist", b"on"));
    kv.insert(0, (b"zz", b""));
    let stat = FullStatS2c::decode(&unhex(&full_hex(&kv, &[b"Notch", b"jeb_"])))
        .expect("decode")
        .stat;
    let mut expected = vanilla_full();
    expected.extra = vec![
        ("zz".into(), String::new()),
        ("whitelist".into(), "on".into()),
    ];
    assert_eq!(stat, expected);
    // Re-encoding puts the vanilla keys first, then the extras.
    let again = FullStatS2c::decode(&bytes_of(|o| {
        FullStatS2c {
            session_id: SID,
            stat: stat.clone(),
        }
        .encode(o);
    }))
    .expect("decode");
    assert_eq!(again.stat, expected);
}

#[test]
fn full_stat_hostname_with_nul_bytes() {
    // A MOTD holding NULs, first (as on vanilla) and last in the key/value section.
    let motd: &[u8] = b"Hello\0World\0\0!";
    let mut kv = vanilla_kv();
    kv[0].1 = motd;
    let stat = FullStatS2c::decode(&unhex(&full_hex(&kv, &[b"Notch"])))
        .expect("decode")
        .stat;
    assert_eq!(stat.motd, "Hello\0World\0\0!");
    assert_eq!(stat.game_type, "SMP");
    kv.rotate_left(1);
    let stat = FullStatS2c::decode(&unhex(&full_hex(&kv, &[b"Notch"])))
        .expect("decode")
        .stat;
    assert_eq!(stat.motd, "Hello\0World\0\0!");
    assert_eq!(stat.players, ["Notch"]);
    // The encoder keeps the NULs of the hostname, and the decoder finds them again.
    let answer = FullStatS2c {
        session_id: SID,
        stat,
    };
    assert_eq!(
        FullStatS2c::decode(&bytes_of(|o| answer.encode(o))),
        Ok(answer)
    );
}

#[test]
fn full_stat_errors() {
    let good = unhex(&full_hex(&vanilla_kv(), &[b"Notch"]));
    for cut in 0..good.len() {
        assert!(FullStatS2c::decode(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = good.clone();
    trailing.push(b'x');
    assert_eq!(
        FullStatS2c::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
    let mut bad_padding = good;
    bad_padding[5] = b'S';
    assert_eq!(
        FullStatS2c::decode(&bad_padding),
        Err(DecodeError::BadMagic {
            what: "full stat padding"
        })
    );
    assert_eq!(
        FullStatS2c::decode(&unhex(&full_hex(&vanilla_kv()[..6], &[]))),
        Err(DecodeError::InvalidField {
            field: "numplayers",
            reason: "missing".into()
        })
    );
    let mut kv = vanilla_kv();
    kv[8].1 = b"70000";
    assert!(matches!(
        FullStatS2c::decode(&unhex(&full_hex(&kv, &[]))),
        Err(DecodeError::InvalidField {
            field: "hostport",
            ..
        })
    ));
    // A basic stat is not a full stat, and a handshake answer is neither.
    assert!(FullStatS2c::decode(&unhex(BASIC_HEX)).is_err());
    assert_eq!(
        FullStatS2c::decode(&unhex("09 00000001 3100")),
        Err(DecodeError::UnexpectedPacketId {
            expected: 0,
            found: 9
        })
    );
}

#[test]
fn full_stat_bounds() {
    // 70000 announced, a handful listed: the count allocates nothing.
    let mut kv = vanilla_kv();
    kv[6].1 = b"70000";
    let stat = FullStatS2c::decode(&unhex(&full_hex(&kv, &[b"a", b"b"])))
        .expect("decode")
        .stat;
    assert_eq!((stat.online, stat.players.len()), (70000, 2));

    // More names than MAX_PLAYERS (2-byte names fit 30000 in a datagram).
    let mut bytes = unhex(&full_hex(&vanilla_kv(), &[]));
    bytes.pop();
    for _ in 0..=MAX_PLAYERS {
        bytes.extend_from_slice(b"a\0");
    }
    bytes.push(0);
    assert!(bytes.len() <= MAX_DATAGRAM);
    assert!(matches!(
        FullStatS2c::decode(&bytes),
        Err(DecodeError::InvalidField {
            field: "players",
            ..
        })
    ));

    // More keys than MAX_KEYS.
    let names: Vec<Vec<u8>> = (0..=MAX_KEYS)
        .map(|i| format!("k{i}").into_bytes())
        .collect();
    let mut kv = vanilla_kv();
    kv.extend(names.iter().map(|k| (k.as_slice(), &b"v"[..])));
    assert!(matches!(
        FullStatS2c::decode(&unhex(&full_hex(&kv, &[]))),
        Err(DecodeError::InvalidField {
            field: "full stat",
            ..
        })
    ));
}

#[test]
fn plugins_parsing() {
    let p = QueryPlugins::parse("CraftBukkit on Bukkit 1.2.5-R4.0: WorldEdit 5.3;CommandBook 2.1");
    assert_eq!(p.server_mod, "CraftBukkit on Bukkit 1.2.5-R4.0");
    assert_eq!(p.plugins, ["WorldEdit 5.3", "CommandBook 2.1"]);
    let p = QueryPlugins::parse("Paper on 1.21");
    assert_eq!(
        (p.server_mod.as_str(), p.plugins.len()),
        ("Paper on 1.21", 0)
    );
    let p = QueryPlugins::from_parts("Paper", &["A", "B"]);
    assert_eq!(p.raw, "Paper: A; B");
    assert_eq!(QueryPlugins::from_parts("Paper", &[]).raw, "Paper");
}

#[test]
fn session_id_masking() {
    assert_eq!(SessionId::masked(0xFFFF_FFFF), SessionId(0x0F0F_0F0F));
    assert!(SessionId(0x0102_0304).same_session(SessionId(0xF1F2_F3F4)));
    assert!(!SessionId(0x0102_0304).same_session(SessionId(0x0102_0305)));
}

fn run_client(kind: StatKind, stat: &QueryFull) -> Result<QueryStat, QueryClientError> {
    let server = QueryServer::new(7);
    let peer: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    let now = Duration::from_secs(100);
    let mut client = QueryClient::new(SessionId::masked(0xDEAD_BEEF), kind);
    let handshake = client.poll_transmit().expect("handshake");
    assert_eq!(client.poll_transmit(), None);
    let token = server
        .handle_datagram(&handshake, peer, now, || unreachable!())
        .expect("token");
    assert_eq!(client.handle_datagram(&token)?, None);
    let request = client.poll_transmit().expect("stat request");
    let answer = server
        .handle_datagram(&request, peer, now, || stat.clone())
        .expect("stat");
    let result = client.handle_datagram(&answer)?.expect("stat");
    assert!(client.is_finished());
    assert_eq!(
        client.handle_datagram(&answer),
        Err(QueryClientError::Finished)
    );
    Ok(result)
}

#[test]
fn client_against_server() {
    let stat = vanilla_full();
    assert_eq!(
        run_client(StatKind::Full, &stat),
        Ok(QueryStat::Full(stat.clone()))
    );
    assert_eq!(
        run_client(StatKind::Basic, &stat),
        Ok(QueryStat::Basic(stat.basic()))
    );
}

#[test]
fn client_refuses_foreign_session_and_wrong_type() {
    let mut client = QueryClient::new(SessionId::masked(0x0102_0304), StatKind::Full);
    client.poll_transmit();
    assert_eq!(
        client.handle_datagram(&unhex("09 01020305 3100")),
        Err(QueryClientError::ForeignSession {
            expected: 0x0102_0304,
            found: 0x0102_0305
        })
    );
    assert_eq!(
        client.handle_datagram(&unhex(BASIC_HEX)),
        Err(QueryClientError::Decode(DecodeError::UnexpectedPacketId {
            expected: 9,
            found: 0
        }))
    );
    // High bits set by the server do not make the id foreign.
    assert_eq!(client.handle_datagram(&unhex("09 f1f2f3f4 3100")), Ok(None));
    let request = client.poll_transmit().expect("request");
    assert_eq!(request, unhex("fefd00 01020304 00000001 00000000"));
    // A handshake answer now is a late or duplicate one (see `late_and_duplicate_...`);
    // any other type is an error.
    assert_eq!(client.handle_datagram(&unhex("09 01020304 3100")), Ok(None));
    assert_eq!(client.poll_transmit(), None);
    assert!(matches!(
        client.handle_datagram(&unhex("05 01020304 3100")),
        Err(QueryClientError::Decode(DecodeError::UnexpectedPacketId {
            expected: 0,
            found: 5
        }))
    ));
    let mut foreign = unhex(&full_hex(&vanilla_kv(), &[]));
    foreign[4] = 9;
    assert!(matches!(
        client.handle_datagram(&foreign),
        Err(QueryClientError::ForeignSession { .. })
    ));
}

fn handshake_answer(token: &str) -> Vec<u8> {
    let mut out = unhex("09 01020304");
    out.extend_from_slice(token.as_bytes());
    out.push(0);
    out
}

const HANDSHAKE_1234: &str = "fefd09 01020304";

fn full_request(token: u32) -> Vec<u8> {
    unhex(&format!("fefd00 01020304 {token:08x} 00000000"))
}

#[test]
fn client_retransmits_its_current_request() {
    let mut client = QueryClient::new(SessionId(0x0102_0304), StatKind::Full);
    // Nothing sent yet: a retransmission is the first send.
    assert_eq!(client.retransmit(), Some(unhex(HANDSHAKE_1234)));
    assert_eq!(client.poll_transmit(), None);
    assert_eq!(client.retransmit(), Some(unhex(HANDSHAKE_1234)));
    assert_eq!(client.handle_datagram(&handshake_answer("7")), Ok(None));
    assert_eq!(client.token(), Some(7));
    // The new request is pending: a retransmission now sends it (once).
    assert_eq!(client.retransmit(), Some(full_request(7)));
    assert_eq!(client.poll_transmit(), None);
    // The stat request is resent with the token until STAT_SENDS_PER_TOKEN sends went
    // unanswered; then the handshake again, for a token the server still knows.
    for _ in 1..QueryClient::STAT_SENDS_PER_TOKEN {
        assert_eq!(client.retransmit(), Some(full_request(7)));
    }
    assert_eq!(client.retransmit(), Some(unhex(HANDSHAKE_1234)));
    assert_eq!(client.retransmit(), Some(unhex(HANDSHAKE_1234)));
    // Waiting for a token again, a late stat answer still ends the exchange.
    let mut stat_1234 = unhex(&full_hex(&vanilla_kv(), &[b"Notch"]));
    stat_1234[1..5].copy_from_slice(&[1, 2, 3, 4]);
    assert!(matches!(
        client.handle_datagram(&stat_1234),
        Ok(Some(QueryStat::Full(_)))
    ));
    assert!(client.is_finished());
    assert_eq!(client.retransmit(), None);
    assert_eq!(client.poll_transmit(), None);
}

#[test]
fn client_takes_the_same_token_again_after_a_new_handshake() {
    // Our responder repeats its token within a period: after the handshake that follows
    // unanswered stat requests, the same token still gets a new stat request.
    let mut client = QueryClient::new(SessionId(0x0102_0304), StatKind::Full);
    client.poll_transmit();
    client
        .handle_datagram(&handshake_answer("7"))
        .expect("token");
    client.poll_transmit();
    for _ in 1..QueryClient::STAT_SENDS_PER_TOKEN {
        client.retransmit();
    }
    assert_eq!(client.retransmit(), Some(unhex(HANDSHAKE_1234)));
    assert_eq!(client.handle_datagram(&handshake_answer("7")), Ok(None));
    assert_eq!(client.poll_transmit(), Some(full_request(7)));
}

#[test]
fn late_and_duplicate_handshake_answers() {
    let mut client = QueryClient::new(SessionId(0x0102_0304), StatKind::Full);
    client.poll_transmit();
    client.retransmit();
    client.retransmit();
    // Three handshakes out; the first answer's token is used.
    assert_eq!(client.handle_datagram(&handshake_answer("7")), Ok(None));
    assert_eq!(client.poll_transmit(), Some(full_request(7)));
    // The same token again (a duplicate, or our responder's answer to a resent
    // handshake): nothing new to send.
    assert_eq!(client.handle_datagram(&handshake_answer("7")), Ok(None));
    assert_eq!(client.poll_transmit(), None);
    // The answer to a later handshake: the server (vanilla) now accepts only this token.
    assert_eq!(client.handle_datagram(&handshake_answer("8")), Ok(None));
    assert_eq!(client.token(), Some(8));
    assert_eq!(client.poll_transmit(), Some(full_request(8)));
    assert_eq!(client.retransmit(), Some(full_request(8)));
    // A foreign one is still an error, and changes nothing.
    let mut foreign = handshake_answer("9");
    foreign[4] = 5;
    assert!(matches!(
        client.handle_datagram(&foreign),
        Err(QueryClientError::ForeignSession { .. })
    ));
    // The answer to the third handshake: taken, as the duplicate 7 used up no
    // handshake's allowance (it did once, and a vanilla server's newest token was
    // refused).
    assert_eq!(client.handle_datagram(&handshake_answer("9")), Ok(None));
    assert_eq!(client.token(), Some(9));
    assert_eq!(client.poll_transmit(), Some(full_request(9)));
    // Three new tokens (7, 8, 9) for three handshakes: a fourth is not taken (a server
    // answering every stat request with a new token cannot make the client loop).
    assert_eq!(client.handle_datagram(&handshake_answer("10")), Ok(None));
    assert_eq!(client.token(), Some(9));
    assert_eq!(client.poll_transmit(), None);
}

#[test]
fn server_answers_repeated_handshakes_alike() {
    // A client resending its handshake gets the same token within a period, and a token
    // from the previous period still works: the resent requests need no server state.
    let server = QueryServer::new(5);
    let peer: SocketAddr = "10.0.0.1:1000".parse().expect("addr");
    let handshake = unhex("fefd09 01020304");
    let at = |secs| Duration::from_secs(secs);
    let first = server.handle_datagram(&handshake, peer, at(61), || unreachable!());
    let again = server.handle_datagram(&handshake, peer, at(62), || unreachable!());
    assert_eq!(first, again);
    let token = HandshakeS2c::decode(&first.expect("answer"))
        .expect("token")
        .token;
    let later = server.handle_datagram(&handshake, peer, at(90), || unreachable!());
    let later = HandshakeS2c::decode(&later.expect("answer"))
        .expect("token")
        .token;
    assert_ne!(token, later, "a new period, a new token");
    for token in [token, later] {
        let request = QueryRequestC2s::FullStat(FullStatC2s {
            session_id: SessionId(0x0102_0304),
            token,
        });
        assert!(
            server
                .handle_datagram(&request.to_bytes(), peer, at(90), QueryFull::default)
                .is_some()
        );
    }
}

#[test]
fn server_tokens() {
    let server = QueryServer::new(42);
    let a: SocketAddr = "10.0.0.1:1000".parse().expect("addr");
    let b: SocketAddr = "10.0.0.1:1001".parse().expect("addr");
    let t0 = Duration::from_secs(65);
    let token = server.token(a, t0);
    assert!(token >= 0);
    assert_ne!(token, server.token(b, t0), "per address");
    assert_ne!(token, QueryServer::new(43).token(a, t0), "per secret");
    assert!(server.token_is_valid(a, token, t0));
    assert!(!server.token_is_valid(b, token, t0));
    // Still valid in the next period, not in the one after.
    assert!(server.token_is_valid(a, token, t0 + QueryServer::TOKEN_PERIOD));
    assert!(!server.token_is_valid(a, token, t0 + 2 * QueryServer::TOKEN_PERIOD));
    // A stat request with a wrong token gets no answer; garbage neither.
    let request = QueryRequestC2s::FullStat(FullStatC2s {
        session_id: SID,
        token: token.wrapping_add(1),
    });
    assert_eq!(
        server.handle_datagram(&request.to_bytes(), a, t0, || unreachable!()),
        None
    );
    assert_eq!(
        server.handle_datagram(b"GET /", a, t0, || unreachable!()),
        None
    );
    // The handshake answer echoes the session id unmasked (qstat's 10 20 30 40).
    let answer = server
        .handle_datagram(&unhex("fefd09 10203040"), a, t0, || unreachable!())
        .expect("answer");
    assert_eq!(
        HandshakeS2c::decode(&answer),
        Ok(HandshakeS2c {
            session_id: SessionId(0x1020_3040),
            token
        })
    );
}

fn latin1_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(1u8..=255, 0..max).prop_map(|b| latin1(&b))
}

prop_compose! {
    fn arb_full()(
        motd in latin1_text(40),
        game_type in latin1_text(8),
        game_id in latin1_text(12),
        version in latin1_text(12),
        plugins in latin1_text(40),
        map in latin1_text(16),
        online: u32,
        max: u32,
        host_port: u16,
        host_ip in latin1_text(16),
        players in proptest::collection::vec("[a-zA-Z0-9_]{1,16}", 0..20),
        extra in proptest::collection::vec(("x[a-z_]{0,10}", latin1_text(20)), 0..4),
    ) -> QueryFull {
        let mut unique: Vec<(String, String)> = Vec::new();
        for (k, v) in extra {
            if !unique.iter().any(|(u, _)| *u == k) {
                unique.push((k, v));
            }
        }
        QueryFull {
            motd, game_type, game_id, version,
            plugins: QueryPlugins::parse(&plugins),
            map, online, max, host_port, host_ip, players, extra: unique,
        }
    }
}

proptest! {
    #[test]
    fn requests_round_trip(sid: u32, token: i32, kind in 0..3u8) {
        let session_id = SessionId(sid);
        let request = match kind {
            0 => QueryRequestC2s::Handshake(HandshakeC2s { session_id }),
            1 => QueryRequestC2s::BasicStat(BasicStatC2s { session_id, token }),
            _ => QueryRequestC2s::FullStat(FullStatC2s { session_id, token }),
        };
        prop_assert_eq!(QueryRequestC2s::decode(&request.to_bytes()), Ok(request));
    }

    #[test]
    fn handshake_round_trip(sid: u32, token: i32) {
        let answer = HandshakeS2c { session_id: SessionId(sid), token };
        prop_assert_eq!(HandshakeS2c::decode(&bytes_of(|o| answer.encode(o))), Ok(answer));
    }

    #[test]
    fn basic_round_trip(sid: u32, full in arb_full()) {
        let answer = BasicStatS2c { session_id: SessionId(sid), stat: full.basic() };
        prop_assert_eq!(BasicStatS2c::decode(&bytes_of(|o| answer.encode(o))), Ok(answer));
    }

    #[test]
    fn full_round_trip(sid: u32, stat in arb_full(), motd_with_nul in latin1_text(10)) {
        let answer = FullStatS2c { session_id: SessionId(sid), stat: stat.clone() };
        prop_assert_eq!(FullStatS2c::decode(&bytes_of(|o| answer.encode(o))), Ok(answer));
        // A MOTD with a NUL in it survives too (unless a vanilla key name follows the
        // NUL: the format cannot tell that apart from the next key).
        prop_assume!(!KNOWN_KEYS.contains(&motd_with_nul.as_str()));
        let mut stat = stat;
        stat.motd = format!("{}\0{motd_with_nul}", stat.motd);
        let answer = FullStatS2c { session_id: SessionId(sid), stat };
        prop_assert_eq!(FullStatS2c::decode(&bytes_of(|o| answer.encode(o))), Ok(answer));
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = QueryRequestC2s::decode(&bytes);
        let _ = HandshakeS2c::decode(&bytes);
        let _ = BasicStatS2c::decode(&bytes);
        let _ = FullStatS2c::decode(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// What the fuzz target checks, on mutations of valid answers: whenever a decoder
    /// accepts bytes, encoding its value and decoding again gives the same value.
    #[test]
    fn mutated_answers_round_trip_when_accepted(
        which: bool,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        let mut bytes = unhex(if which { FULL_HEX } else { BASIC_HEX });
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, if byte < 128 { 0 } else { byte }),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        if let Ok(answer) = FullStatS2c::decode(&bytes) {
            let again = bytes_of(|o| answer.encode(o));
            prop_assert_eq!(FullStatS2c::decode(&again), Ok(answer));
        }
        if let Ok(answer) = BasicStatS2c::decode(&bytes) {
            let again = bytes_of(|o| answer.encode(o));
            prop_assert_eq!(BasicStatS2c::decode(&again), Ok(answer));
        }
    }
}
