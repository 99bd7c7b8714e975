//! The systemd units in `deploy/systemd/`: one per long-running binary, hardened as
//! deploy/README.md promises, and accepted by `systemd-analyze verify` where it exists
//! (with `ExecStart` pointed at `true`, since the binary is not installed here).

use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 3] = ["mcstat-telegram", "mcstat-discord", "mcstat-api"];

fn unit_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/systemd")
        .join(format!("{name}.service"))
}

fn read(name: &str) -> String {
    std::fs::read_to_string(unit_path(name)).expect("the unit file exists")
}

#[test]
fn every_binary_has_a_hardened_unit_with_its_own_state_directory() {
    for name in UNITS {
        let unit = read(name);
        let lines: Vec<&str> = unit.lines().map(str::trim).collect();
        for needed in [
            format!("ExecStart=/usr/local/bin/{name}"),
            format!("StateDirectory={name}"),
            format!("Environment=MCSTAT_STORE_PATH=%S/{name}/mcstat.redb"),
            format!(
                "EnvironmentFile=/etc/mcstat/{}.env",
                name.trim_start_matches("mcstat-")
            ),
            "DynamicUser=yes".to_owned(),
            "ProtectSystem=strict".to_owned(),
            "ProtectHome=yes".to_owned(),
            "NoNewPrivileges=yes".to_owned(),
            "CapabilityBoundingSet=".to_owned(),
            "PrivateTmp=yes".to_owned(),
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX".to_owned(),
            "SystemCallFilter=@system-service".to_owned(),
            "KillSignal=SIGTERM".to_owned(),
            "Restart=on-failure".to_owned(),
            "WantedBy=multi-user.target".to_owned(),
        ] {
            assert!(
                lines.contains(&needed.as_str()),
                "{name}.service lacks {needed:?}"
            );
        }
    }
}

#[test]
fn systemd_analyze_verify_accepts_the_units() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed: unit verification skipped");
        return;
    };
    assert!(out.status.success(), "systemd-analyze --version failed");
    let truth = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("a `true` binary");
    let dir = tempfile::tempdir().expect("temp dir");
    for name in UNITS {
        let unit = read(name).replace(
            &format!("ExecStart=/usr/local/bin/{name}"),
            &format!("ExecStart={truth}"),
        );
        let path = dir.path().join(format!("{name}.service"));
        std::fs::write(&path, unit).expect("write the unit");
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .expect("run systemd-analyze");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "systemd-analyze verify {name}.service: {stderr}"
        );
        // Warnings about the unit itself (not about the host) fail too.
        let own: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(&format!("{name}.service")))
            .collect();
        assert!(own.is_empty(), "{name}.service: {own:?}");
    }
}
