//! The packaging files agree with each other and with the code: every compose build
//! target is a Dockerfile stage, every binary a stage copies comes out of the build
//! stage's `cargo build`, and every API setting is in `.env.example` (and only those). (The images themselves are
//! not built here: too slow for the test suite.)

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn compose_targets_are_dockerfile_stages_and_stages_copy_real_binaries() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .filter_map(|l| l.split(" AS ").nth(1))
        .map(str::trim)
        .collect();
    for stage in ["mcstat-api", "mcstat-telegram", "mcstat-discord", "mcstat"] {
        assert!(
            stages.contains(&stage),
            "Dockerfile stage {stage} in {stages:?}"
        );
    }

    let compose = read("compose.yaml");
    let targets: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("target: "))
        .collect();
    assert_eq!(
        targets.len(),
        3,
        "api, telegram and discord are built: {targets:?}"
    );
    for t in &targets {
        assert!(
            stages.contains(t),
            "compose target {t} is a Dockerfile stage"
        );
    }
    for service in ["  redis:", "  api:", "  telegram:", "  discord:"] {
        assert!(
            compose.lines().any(|l| l == service),
            "compose service {service}"
        );
    }
    assert!(compose.contains("MCSTAT_STORE: redis") && compose.contains("MCSTAT_CACHE: redis"));

    // Every binary copied out of the build stage is built by the `cargo build` line.
    let build_line = dockerfile
        .lines()
        .skip_while(|l| !l.contains("cargo build --release"))
        .take(2)
        .collect::<String>();
    for bin in ["mcstat-api", "mcstat-telegram", "mcstat-discord", "mcstat"] {
        assert!(
            dockerfile.contains(&format!(
                "COPY --from=build /out/{bin} /usr/local/bin/{bin}"
            )),
            "stage copies {bin}"
        );
        assert!(
            dockerfile.contains(&format!("target/release/{bin}")),
            "{bin} is copied to /out"
        );
    }
    for package in [
        "mcstat-api",
        "mcstat-telegram",
        "mcstat-discord",
        "mcstat-cli",
    ] {
        assert!(
            build_line.contains(&format!("-p {package}")),
            "{package} in {build_line}"
        );
    }
    let api_manifest = read("crates/api/Cargo.toml");
    assert!(api_manifest.contains("name = \"mcstat-api\"\npath = \"src/main.rs\""));
}

#[test]
fn every_api_setting_is_in_env_example() {
    let example = read(".env.example");
    for var in [
        "MCSTAT_API_CORS_ORIGINS",
        "MCSTAT_API_RATE_BURST",
        "MCSTAT_API_RATE_PER_MINUTE",
        "MCSTAT_API_CLIENT_IP_HEADER",
        "MCSTAT_HTTP_ADDR",
        "MCSTAT_REDIS_URL",
    ] {
        assert!(
            example.contains(&format!("{var}=")),
            "{var} in .env.example"
        );
    }
    // And each one documented there is one the API reads.
    let config = read("crates/api/src/config.rs");
    for var in example
        .lines()
        .filter_map(|l| l.trim_start_matches('#').split('=').next())
        .filter(|v| v.starts_with("MCSTAT_API_"))
    {
        let key = var.trim_start_matches("MCSTAT_").to_ascii_lowercase();
        assert!(
            config.contains(&format!("pub {key}:")),
            "{var} is a field of ApiConfig"
        );
    }
}
