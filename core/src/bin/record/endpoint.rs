//! `leastpriv record`: a local recording endpoint. Every request an SDK (the AWS CLI,
//! Terraform, any language) sends to it is forwarded unchanged to the upstream (LocalStack,
//! moto) and decoded by the core's wire decoder into the call it made; the calls go to a JSON
//! lines file as they come, and the policy is written when the endpoint stops (SIGINT, SIGTERM).
//!
//! Memory stays bounded per connection: a body is read for decoding only when it says its
//! length and that is at most `MAX_DECODED_BODY`; any other body (an S3 upload) streams through
//! untouched. Malformed HTTP is answered by hyper with an error; a request the decoder cannot
//! read is forwarded all the same and counted.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use leastpriv::{Call, HttpRequest, Outcome, Pipeline};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The largest body read to decode a request (a JSON, form or CBOR request body).
pub const MAX_DECODED_BODY: u64 = 8 << 20;

type Body = BoxBody<Bytes, hyper::Error>;

/// What the endpoint records into.
pub struct Recording {
    pub pipeline: Pipeline,
    /// The calls file being written (a temporary beside the target, renamed at the end).
    pub calls: Option<(std::io::BufWriter<std::fs::File>, PathBuf, PathBuf)>,
    pub decoded: u64,
    pub undecoded: u64,
    pub unsigned: u64,
    pub notes: std::collections::BTreeMap<String, u64>,
}

struct Shared {
    upstream: hyper::Uri,
    client: Client<HttpConnector, Body>,
    recording: Mutex<Recording>,
}

/// Runs the endpoint until SIGINT or SIGTERM; returns the recording.
pub fn run(
    listen: SocketAddr,
    upstream: hyper::Uri,
    recording: Recording,
) -> std::io::Result<Recording> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let bound = listener.local_addr()?;
        eprintln!("leastpriv record: listening on http://{bound}, forwarding to {upstream}");
        let shared = Arc::new(Shared {
            upstream,
            client: Client::builder(TokioExecutor::new()).build_http(),
            recording: Mutex::new(recording),
        });
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(req, Arc::clone(&shared)));
                        // A malformed request is answered by hyper and ends the connection;
                        // nothing of it is printed.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .max_buf_size(1 << 20)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
        // Requests in flight get a moment to finish.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let shared = Arc::try_unwrap(shared).ok();
        match shared {
            Some(s) => Ok(s.recording.into_inner().unwrap_or_else(|e| e.into_inner())),
            None => Err(std::io::Error::other(
                "requests still in flight at the stop",
            )),
        }
    })
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn text_response(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(text.to_owned()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let length = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let streaming = parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    // The body: read whole when small and announced, else streamed through unread.
    let (read, forward): (Vec<u8>, Body) = match length {
        Some(n) if n <= MAX_DECODED_BODY && !streaming => match body.collect().await {
            Ok(c) => {
                let bytes = c.to_bytes();
                (
                    bytes.to_vec(),
                    Full::new(bytes).map_err(|never| match never {}).boxed(),
                )
            }
            Err(_) => {
                return Ok(text_response(
                    StatusCode::BAD_REQUEST,
                    "leastpriv record: the request body could not be read\n",
                ));
            }
        },
        _ => (Vec::new(), body.boxed()),
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"))
        && let Some(a) = parts.uri.authority()
    {
        headers.push(("host".to_owned(), a.as_str().to_owned()));
    }
    let decoded = leastpriv::decode(&HttpRequest {
        method: parts.method.as_str().to_owned(),
        target: target.clone(),
        headers,
        body: read,
    });
    // Forward unchanged, to the upstream's address.
    let mut up = shared.upstream.clone().into_parts();
    up.path_and_query = target.parse().ok();
    let uri = match hyper::Uri::from_parts(up) {
        Ok(u) => u,
        Err(_) => {
            return Ok(text_response(
                StatusCode::BAD_REQUEST,
                "leastpriv record: a request target it cannot forward\n",
            ));
        }
    };
    let mut out = Request::from_parts(parts, forward);
    *out.uri_mut() = uri;
    let response = shared.client.request(out).await;
    let (resp, outcome) = match response {
        Ok(r) => {
            let status = r.status();
            let outcome = if status.is_success()
                || status.is_redirection()
                || status == StatusCode::NOT_MODIFIED
            {
                Outcome::Ok
            } else {
                let code = r
                    .headers()
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.split(':').next().unwrap_or_default().to_owned())
                    .filter(|c| !c.is_empty() && c.len() <= 128);
                Outcome::Error { code }
            };
            (r.map(BodyExt::boxed), outcome)
        }
        Err(_) => (
            text_response(
                StatusCode::BAD_GATEWAY,
                "leastpriv record: the upstream did not answer\n",
            ),
            Outcome::Error { code: None },
        ),
    };
    record(&shared, decoded, outcome);
    Ok(resp)
}

fn record(shared: &Shared, decoded: leastpriv::Result<leastpriv::Decoded>, outcome: Outcome) {
    let Ok(mut rec) = shared.recording.lock() else {
        return;
    };
    match decoded {
        Ok(d) => {
            rec.decoded += 1;
            if !d.signed {
                rec.unsigned += 1;
            }
            if let Some(n) = d.note {
                *rec.notes.entry(n).or_default() += 1;
            }
            let mut call: Call = d.call;
            call.outcome = outcome;
            if let Some((w, _, _)) = rec.calls.as_mut() {
                let line = call_line(&call);
                let _ = writeln!(w, "{line}").and_then(|_| w.flush());
            }
            rec.pipeline.record(&call);
        }
        Err(e) => {
            rec.undecoded += 1;
            // The reason only: never the request's content.
            *rec.notes
                .entry(format!("not decoded: {}", e.message()))
                .or_default() += 1;
        }
    }
}

/// A call as one JSON line of the Call format (`spec/schema/call.schema.json`).
pub fn call_line(call: &Call) -> String {
    let mut m = serde_json::Map::new();
    m.insert("service".into(), call.service.clone().into());
    m.insert("operation".into(), call.operation.clone().into());
    m.insert("params".into(), call.params.clone());
    if let Some(r) = &call.region {
        m.insert("region".into(), r.clone().into());
    }
    if let Some(e) = &call.endpoint {
        m.insert("endpoint".into(), e.clone().into());
    }
    if let Outcome::Error { code } = &call.outcome {
        m.insert("outcome".into(), "error".into());
        if let Some(c) = code {
            m.insert("error_code".into(), c.clone().into());
        }
    }
    serde_json::Value::Object(m).to_string()
}
