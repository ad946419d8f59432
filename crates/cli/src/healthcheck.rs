//! `tickler healthcheck`: asks a running server's `/health` and exits non-zero unless it
//! answers 200, so container health checks need nothing but the binary (no curl in the image).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest wait for the whole exchange.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to ask when the server listens on `listen`: the loopback address of the same
/// family when it listens on every address.
pub fn local_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GETs `path` from `address` over HTTP/1.1 and succeeds on a 200 answer.
pub async fn check(address: SocketAddr, path: &str) -> anyhow::Result<()> {
    tokio::time::timeout(TIMEOUT, exchange(address, path))
        .await
        .with_context(|| format!("no answer from http://{address}{path} within {TIMEOUT:?}"))?
}

async fn exchange(address: SocketAddr, path: &str) -> anyhow::Result<()> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    // The status line is all we need; read at most a few kilobytes.
    let mut answer = Vec::with_capacity(512);
    (&mut stream).take(4096).read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("none");
    if status != "200" {
        bail!("http://{address}{path} answered status {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_listening_everywhere_is_asked_on_loopback() {
        let asked = |listen: &str| local_address(listen.parse().unwrap()).to_string();
        assert_eq!(asked("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(asked("[::]:8080"), "[::1]:8080");
        assert_eq!(asked("10.1.2.3:9000"), "10.1.2.3:9000");
    }
}
