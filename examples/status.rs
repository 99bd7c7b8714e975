//! Look up a Java Edition server with the protocol crate alone (through the `mcstat`
//! facade): resolve (SRV included), then run the status exchange under one deadline.
//!
//! ```sh
//! cargo run --example status -- play.example.net
//! ```

use mcstat::protocol::address::{Edition, ServerAddress};
use mcstat::protocol::net::resolve::Resolver;
use mcstat::protocol::net::{ClientOptions, java};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args()
        .nth(1)
        .ok_or("usage: status ADDRESS (e.g. play.example.net or 127.0.0.1:25565)")?;
    let address: ServerAddress = text.parse()?;

    // Resolution is its own step: check the IPs here before connecting if you need to.
    let resolved = Resolver::from_system_conf()?
        .resolve(&address, Edition::Java)
        .await?;
    let (target, ip) = resolved.first().ok_or("the name has no address")?;

    let reply = java::status(ip, &target.host, target.port, &ClientOptions::default()).await?;
    let status = &reply.status;
    println!("{} ({ip})", status.styled_motd().to_plain());
    if let Some(version) = &status.version {
        println!("version {} (protocol {})", version.name, version.protocol);
    }
    if let Some(players) = &status.players {
        println!(
            "{}/{} players: {:?}",
            players.online,
            players.max,
            status.sample_names()
        );
    }
    if let Some(latency) = reply.latency {
        println!("latency {latency:?}");
    }
    Ok(())
}
