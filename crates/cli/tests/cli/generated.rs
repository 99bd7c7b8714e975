//! `mcstat completions SHELL` and `mcstat man`.

use super::{mcstat, stdout};

#[tokio::test]
async fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = mcstat(&["completions", shell]).await;
        assert_eq!(out.status.code(), Some(0), "{shell}: {out:?}");
        let script = stdout(&out);
        for sub in [
            "status",
            "query",
            "bedrock",
            "diagnose",
            "completions",
            "man",
        ] {
            assert!(script.contains(sub), "{shell} script lacks {sub}");
        }
        assert!(
            script.contains("blocklist"),
            "{shell} lacks diagnose's options"
        );
    }
    assert!(stdout(&mcstat(&["completions", "bash"]).await).contains("complete -F _mcstat"));
    assert!(stdout(&mcstat(&["completions", "fish"]).await).contains("complete -c mcstat"));
    assert!(stdout(&mcstat(&["completions", "zsh"]).await).starts_with("#compdef mcstat"));
    assert!(
        stdout(&mcstat(&["completions", "powershell"]).await)
            .contains("Register-ArgumentCompleter")
    );
    let out = mcstat(&["completions", "tcsh"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown shell is a usage error"
    );
}

#[tokio::test]
async fn man_page_has_its_header_and_the_subcommands() {
    let out = mcstat(&["man"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let page = stdout(&out);
    assert!(
        page.lines().any(|l| l.starts_with(".TH mcstat 1")),
        "no .TH header: {page}"
    );
    assert!(page.contains(".SH NAME"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in [
        "status",
        "ping",
        "legacy",
        "query",
        "bedrock",
        "diagnose",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("mcstat\\-{sub}")),
            "man page lacks {sub}: {page}"
        );
    }
}
