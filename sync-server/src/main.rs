//! `doorstep-sync-server --listen ADDR --database sqlite:PATH|postgres://… [--tls-cert PEM --tls-key PEM]`

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use doorstep_sync_server::{App, start, start_tls, tls_config};

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
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key. Devices refuse plain
    /// http to any address but their own machine.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    tls_key: Option<PathBuf>,
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
    let server = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let cert = std::fs::read(cert).context("could not read the --tls-cert file")?;
            let key = std::fs::read(key).context("could not read the --tls-key file")?;
            start_tls(app, args.listen, tls_config(&cert, &key)?).await?
        }
        _ => start(app, args.listen).await?,
    };
    // Scripts read the bound address from this line when they ask for port 0.
    println!("listening on {}", server.url());
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}
