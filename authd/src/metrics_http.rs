//! The Prometheus scrape endpoint's edge: `GET /metrics` over HTTP/1.1
//! (hyper), rendered by [`crate::metrics::render`].
//!
//! Bounded: at most [`MAX_CONNECTIONS`] connections at once (one more is
//! closed at accept), each served one request (no keep-alive) within
//! [`CONNECTION_TIMEOUT`], headers within [`HEADER_TIMEOUT`] and in a
//! buffer of 8 KiB at most. A slow or idle client holds one slot for
//! seconds, never the endpoint; none of it touches the RADIUS path.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::handler::AuthHandler;
use crate::metrics::exposition::CONTENT_TYPE as EXPOSITION;
use crate::metrics::render::{Process, render};

/// Connections served at once; a scraper needs one.
pub const MAX_CONNECTIONS: usize = 16;
/// The whole connection, from accept to close.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Until the request's headers are read.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest read buffer (hyper's minimum): a request line and headers past
/// it are refused.
const MAX_BUF: usize = 8192;

/// Binds the endpoint's TCP socket.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    info!(address = %listener.local_addr().unwrap_or(addr), "metrics endpoint: GET /metrics");
    Ok(listener)
}

/// Serves `GET /metrics` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<AuthHandler>,
    started: SystemTime,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let process = Process { started };
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and the like: wait a little rather than spin.
                debug!("metrics endpoint: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(peer = %peer, "metrics endpoint: {MAX_CONNECTIONS} connections open, closing one more");
            continue;
        };
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(respond(&req, &handler, process)) }
            });
            let conn = http1::Builder::new()
                .keep_alive(false)
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_BUF)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = shutdown.cancelled() => {}
                r = tokio::time::timeout(CONNECTION_TIMEOUT, conn) => match r {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => debug!(peer = %peer, "metrics endpoint: {e}"),
                    Err(_) => debug!(peer = %peer, "metrics endpoint: connection timed out"),
                },
            }
            drop(slot);
            // After the slot is free: a client's EOF comes before it.
            debug!("metrics endpoint: connection from {peer} closed");
        });
    }
}

fn respond(
    req: &Request<Incoming>,
    handler: &AuthHandler,
    process: Process,
) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, text: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
        *r.status_mut() = status;
        r
    };
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    let body = render(handler, process, Instant::now());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(EXPOSITION));
    r
}
