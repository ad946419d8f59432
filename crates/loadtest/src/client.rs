//! A minimal HTTP/1.1 client: one keep-alive connection per worker, no pooling surprises.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// Where the server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub authority: String,
}

impl Target {
    /// Parses `http://host:port`.
    pub fn parse(base: &str) -> anyhow::Result<Self> {
        let Some(rest) = base.strip_prefix("http://") else {
            bail!("--base must be an http:// URL");
        };
        Ok(Self {
            authority: rest.trim_end_matches('/').to_owned(),
        })
    }
}

/// One connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Connection {
    /// Opens a connection.
    pub async fn open(target: &Target) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(&target.authority)
            .await
            .with_context(|| format!("cannot connect to {}", target.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            authority: target.authority.clone(),
        })
    }

    /// Sends a request and reads the whole response.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))?,
            None => request.body(Full::new(Bytes::new()))?,
        };
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}
