//! `doorstep-sync-server --listen ADDR --database sqlite:PATH|postgres://…`

use std::net::SocketAddr;

use clap::Parser;
use doorstep_sync_server::{App, start};

#[derive(Debug, Parser)]
#[command(
    name = "doorstep-sync-server",
    version,
    about = "Doorstep's end-to-end encrypted sync server"
)]
struct Args {
    /// Address and port to listen on; port 0 picks a free one (printed at start).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// sqlite:PATH (embedded, one process) or postgres://USER@HOST:PORT/DATABASE (several
    /// instances may share one database).
    #[arg(long, default_value = "sqlite:doorstep-sync.db")]
    database: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let app = App::connect(&args.database).await?;
    let server = start(app, args.listen).await?;
    // Scripts read the bound address from this line when they ask for port 0.
    println!("listening on {}", server.url());
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}
