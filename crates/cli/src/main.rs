//! `mcstat`: look up a Minecraft server from the command line.
//!
//! Thin by design: parse the arguments, resolve the address (SRV included), run one
//! `mc_protocol::net` client under one deadline, and render the answer as a card for
//! people or as JSON for scripts. The JSON shape is documented in the README.
//!
//! Exit status, for scripts: [`EXIT_ONLINE`] (0) the server answered,
//! [`EXIT_OFFLINE`] (2) it did not (refused, timeout, no such host, not a Minecraft
//! answer), [`EXIT_ERROR`] (1) the command could not run (a bad command line or
//! address, no runtime).

mod blocklist;
mod diagnose;
mod lookup;
mod render;

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};

use lookup::Kind;

/// The server answered.
const EXIT_ONLINE: u8 = 0;
/// The command could not run: a bad command line or address.
const EXIT_ERROR: u8 = 1;
/// The server did not answer.
const EXIT_OFFLINE: u8 = 2;

/// Is the Minecraft server up, and who is on it?
#[derive(Debug, Parser)]
#[command(name = "mcstat", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Java Edition status (Server List Ping, SRV when no port), falling back to the
    /// legacy ping for servers older than 1.7.
    Status(Common),
    /// Java Edition status then ping/pong: the round-trip latency.
    Ping(Common),
    /// Legacy ping (servers before 1.7, or any server that still answers it).
    Legacy {
        #[command(flatten)]
        common: Common,
        /// Which client's request to send.
        #[arg(long, value_enum, default_value_t = Form::V1_6)]
        form: Form,
    },
    /// GameSpy4 Query full stat over UDP: every player name, plugins, map (needs
    /// `enable-query=true` on the server).
    Query(Common),
    /// Bedrock Edition unconnected ping over UDP (default port 19132).
    Bedrock(Common),
    /// Walk DNS, SRV, TCP, every status protocol and Mojang's blocklist, then say in
    /// plain language what is wrong and what to do.
    Diagnose(DiagnoseArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `mcstat man > mcstat.1`.
    Man,
}

#[derive(Debug, Args)]
struct DiagnoseArgs {
    /// The server, as for `status`; prefix `bedrock:` for a Bedrock server
    /// (`bedrock:play.example.net:19132`).
    address: String,
    /// Print one JSON object (steps, verdict, advice) instead of text.
    #[arg(long)]
    json: bool,
    /// The overall deadline in seconds; each step gets a quarter of it at most.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_timeout)]
    timeout: Duration,
    /// Mojang's blocked-servers list to check: a file of SHA-1 hashes (hex, one per
    /// line) or an http(s) URL such as https://sessionserver.mojang.com/blockedservers.
    /// Default: the snapshot bundled with mcstat (its date is shown).
    #[arg(long, value_name = "FILE|URL")]
    blocklist: Option<String>,
    /// Ask this DNS server (`IP` or `IP:PORT`, UDP) instead of the system's.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns)]
    dns: Option<SocketAddr>,
    /// The Query port when it differs from the game port (query.port).
    #[arg(long, value_name = "PORT")]
    query_port: Option<u16>,
    /// The Bedrock port to try for a Java address (default 19132).
    #[arg(long, value_name = "PORT")]
    bedrock_port: Option<u16>,
}

#[derive(Debug, Args)]
struct Common {
    /// The server: `host`, `host:port`, an IPv4 address, `[IPv6]:port` or an
    /// international domain name.
    address: String,
    /// Print one JSON object instead of a card (shape documented in the README).
    #[arg(long)]
    json: bool,
    /// One deadline in seconds for the whole lookup: resolution, connect, every read
    /// and write.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_timeout)]
    timeout: Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Form {
    /// 1.6: `FE 01 FA` + `MC|PingHost`.
    #[value(name = "1.6")]
    V1_6,
    /// 1.4 and 1.5: `FE 01`.
    #[value(name = "1.4")]
    V1_4,
    /// Beta 1.8 to 1.3: `FE`.
    #[value(name = "beta")]
    Beta,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds, e.g. 5 or 0.5"))?;
    if !(0.05..=300.0).contains(&secs) {
        return Err(format!(
            "the timeout must be between 0.05 and 300 seconds (got {s})"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_dns(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| {
            format!("`{s}` is not an IP address or IP:PORT, e.g. 1.1.1.1 or 127.0.0.1:5353")
        })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("mcstat: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_ERROR)
        })
}

fn color_for(json: bool) -> bool {
    !json
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints generated text; a closed pipe (`mcstat man | head`) is not an error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(EXIT_ONLINE),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_ONLINE),
        Err(e) => {
            eprintln!("mcstat: cannot write: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn bad_address(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("mcstat: {e}");
    eprintln!(
        "  try an address like `play.example.net`, `play.example.net:25565` or `[2001:db8::1]:25565`"
    );
    ExitCode::from(EXIT_ERROR)
}

fn run_diagnose(args: DiagnoseArgs) -> ExitCode {
    let text = args.address.trim();
    let (bedrock, rest) = match text.get(..8) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bedrock:") => (true, &text[8..]),
        _ => match text.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("java:") => (false, &text[5..]),
            _ => (false, text),
        },
    };
    let address = match rest.parse() {
        Ok(a) => a,
        Err(e) => return bad_address(&e),
    };
    let blocklist = match args.blocklist {
        None => diagnose::ListSource::Bundled,
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            diagnose::ListSource::Url(url)
        }
        Some(path) => match blocklist::Blocklist::from_file(&path) {
            Ok(list) => diagnose::ListSource::Loaded(list),
            Err(e) => {
                eprintln!("mcstat: --blocklist: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        },
    };
    let opts = diagnose::Options {
        address,
        bedrock,
        timeout: args.timeout,
        dns: args.dns,
        query_port: args.query_port,
        bedrock_port: args.bedrock_port,
        blocklist,
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let report = runtime.block_on(diagnose::run(opts));
    if args.json {
        println!("{}", diagnose::render_json(&report));
    } else {
        print!("{}", diagnose::render_text(&report, color_for(false)));
    }
    ExitCode::from(if report.answered {
        EXIT_ONLINE
    } else {
        EXIT_OFFLINE
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` are answers, not errors; clap's own usage
            // errors would exit 2, which here means "offline".
            return if e.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::from(EXIT_ONLINE)
            };
        }
    };
    let (common, kind) = match cli.command {
        Command::Status(c) => (c, Kind::Status),
        Command::Ping(c) => (c, Kind::Ping),
        Command::Legacy { common, form } => (
            common,
            Kind::Legacy(match form {
                Form::V1_6 => mc_protocol::legacy::LegacyForm::V1_6,
                Form::V1_4 => mc_protocol::legacy::LegacyForm::V1_4,
                Form::Beta => mc_protocol::legacy::LegacyForm::Beta,
            }),
        ),
        Command::Query(c) => (c, Kind::Query),
        Command::Bedrock(c) => (c, Kind::Bedrock),
        Command::Diagnose(args) => return run_diagnose(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "mcstat", &mut script);
            return print_bytes(&script);
        }
        Command::Man => {
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
                eprintln!("mcstat: cannot render the man page: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
            return print_bytes(&page);
        }
    };

    let address = match common.address.parse() {
        Ok(a) => a,
        Err(e) => return bad_address(&e),
    };

    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let outcome = runtime.block_on(lookup::run(kind, &address, common.timeout));

    let color = color_for(common.json);
    match outcome {
        Ok(answer) => {
            if common.json {
                println!("{}", render::answer_json(&answer));
            } else {
                print!("{}", render::answer_card(&answer, color));
            }
            ExitCode::from(EXIT_ONLINE)
        }
        Err(failure) => {
            if common.json {
                println!("{}", render::failure_json(&failure));
            } else {
                print!("{}", render::failure_card(&failure, color));
            }
            ExitCode::from(EXIT_OFFLINE)
        }
    }
}
