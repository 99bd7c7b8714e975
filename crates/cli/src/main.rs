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

mod lookup;
mod render;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    };

    let address = match common.address.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mcstat: {e}");
            eprintln!(
                "  try an address like `play.example.net`, `play.example.net:25565` or `[2001:db8::1]:25565`"
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcstat: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let outcome = runtime.block_on(lookup::run(kind, &address, common.timeout));

    let color = !common.json
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
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
