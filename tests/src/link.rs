//! A user-space link emulator for the benchmarks: a TCP proxy that delays each direction by a
//! one-way latency and serialises bytes at a fixed rate (the kernel's netem is not available
//! everywhere, nor without privileges). `THREE_G` is the link the sync targets are set on.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The emulated 3G link of issue 14: 1.6 Mbit/s down, 0.75 Mbit/s up, 150 ms round trip.
pub const THREE_G: (u64, u64, Duration) = (1_600_000, 750_000, Duration::from_millis(75));

/// A proxy to `upstream` over the emulated link; returns the address devices connect to.
pub async fn start(
    upstream: SocketAddr,
    down_bps: u64,
    up_bps: u64,
    one_way: Duration,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(client_read, server_write, up_bps, one_way));
                tokio::spawn(pipe(server_read, client_write, down_bps, one_way));
            });
        }
    });
    Ok(addr)
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    bits_per_second: u64,
    one_way: Duration,
) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender
                        .send((Instant::now() + one_way, buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    let mut free_at = Instant::now();
    while let Some((due, bytes)) = receiver.recv().await {
        let start = due.max(free_at);
        let on_the_wire =
            Duration::from_secs_f64(bytes.len() as f64 * 8.0 / bits_per_second as f64);
        free_at = start + on_the_wire;
        tokio::time::sleep_until(free_at).await;
        if to.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
