//! `leastpriv record`: a local recording endpoint. Every request an SDK (the AWS CLI,
//! Terraform, any language) sends to it is forwarded unchanged to the upstream (LocalStack,
//! moto) and decoded by the core's wire decoder into the call it made; the calls go to a JSON
//! lines file as they come, and the policy is written when the endpoint stops (SIGINT, SIGTERM).
//!
//! With `--proxy` it is an HTTP proxy as well (`HTTPS_PROXY=http://127.0.0.1:PORT`): a `CONNECT`
//! tunnel is answered, the TLS inside it terminated with a certificate for the requested host,
//! signed by a local CA the endpoint makes at its start (its certificate is written for
//! `AWS_CA_BUNDLE`; its key never leaves the process), and the requests inside are recorded and
//! forwarded to the host over HTTPS (or to `--upstream`, for a test against moto).
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
    /// The calls file being written (it lands whole when finished).
    pub calls: Option<leastpriv::StreamedFile>,
    pub decoded: u64,
    pub undecoded: u64,
    pub unsigned: u64,
    pub notes: std::collections::BTreeMap<String, u64>,
}

struct Shared {
    upstream: Option<hyper::Uri>,
    client: Client<HttpConnector, Body>,
    https: Option<Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>>,
    ca: Option<Ca>,
    recording: Mutex<Recording>,
}

/// The local CA of proxy mode, and the server configurations made with it, by host.
pub struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    leaves: Mutex<std::collections::HashMap<String, Arc<rustls::ServerConfig>>>,
}

impl Ca {
    /// A new CA; its certificate (PEM) is written to `dir/ca.pem`, and the path returned.
    pub fn create(dir: &std::path::Path) -> std::io::Result<(Ca, PathBuf)> {
        let err = |e: rcgen::Error| std::io::Error::other(e.to_string());
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "leastpriv record local CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(err)?;
        std::fs::create_dir_all(dir)?;
        let path = dir.join("ca.pem");
        let tmp = dir.join(format!(".ca.pem.{}", std::process::id()));
        std::fs::write(&tmp, cert.pem())?;
        std::fs::rename(&tmp, &path)?;
        Ok((
            Ca {
                cert_der: cert.der().clone(),
                issuer: rcgen::Issuer::new(params, key),
                leaves: Mutex::new(Default::default()),
            },
            path,
        ))
    }

    /// The TLS server configuration for `host`, its certificate signed by this CA.
    fn config_for(&self, host: &str) -> Option<Arc<rustls::ServerConfig>> {
        if let Ok(m) = self.leaves.lock()
            && let Some(c) = m.get(host)
        {
            return Some(Arc::clone(c));
        }
        let key = rcgen::KeyPair::generate().ok()?;
        let params = rcgen::CertificateParams::new(vec![host.to_owned()]).ok()?;
        let cert = params.signed_by(&key, &self.issuer).ok()?;
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone(), self.cert_der.clone()], der)
            .ok()?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        if let Ok(mut m) = self.leaves.lock() {
            // Bounded: hosts come from clients.
            if m.len() >= 1024 {
                m.clear();
            }
            m.insert(host.to_owned(), Arc::clone(&config));
        }
        Some(config)
    }
}

/// Runs the endpoint until SIGINT or SIGTERM; returns the recording.
pub fn run(
    listen: SocketAddr,
    upstream: Option<hyper::Uri>,
    ca: Option<Ca>,
    recording: Recording,
) -> std::io::Result<Recording> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let bound = listener.local_addr()?;
        match &upstream {
            Some(u) => {
                eprintln!("leastpriv record: listening on http://{bound}, forwarding to {u}")
            }
            None => eprintln!(
                "leastpriv record: listening on http://{bound}, forwarding to the hosts asked for"
            ),
        }
        let https = match (&ca, &upstream) {
            (Some(_), None) => Some(
                Client::builder(TokioExecutor::new()).build(
                    hyper_rustls::HttpsConnectorBuilder::new()
                        .with_webpki_roots()
                        .https_or_http()
                        .enable_http1()
                        .build(),
                ),
            ),
            _ => None,
        };
        let shared = Arc::new(Shared {
            upstream,
            client: Client::builder(TokioExecutor::new()).build_http(),
            https,
            ca,
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
                        let service =
                            service_fn(move |req| handle(req, Arc::clone(&shared), None));
                        // A malformed request is answered by hyper and ends the connection;
                        // nothing of it is printed.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .max_buf_size(1 << 20)
                            .serve_connection(TokioIo::new(stream), service)
                            .with_upgrades()
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

/// A `CONNECT` tunnel: answered, then the TLS inside it terminated and its requests served.
fn tunnel(req: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    let Some(ca) = shared.ca.as_ref() else {
        return text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "leastpriv record: not a proxy (see --proxy)\n",
        );
    };
    let Some(host) = req.uri().authority().map(|a| a.host().to_owned()) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "leastpriv record: CONNECT without a host\n",
        );
    };
    let Some(config) = ca.config_for(&host) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "leastpriv record: no certificate for that host\n",
        );
    };
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let Ok(tls) = acceptor.accept(TokioIo::new(upgraded)).await else {
            return;
        };
        let service = service_fn(move |r| handle(r, Arc::clone(&shared), Some(authority.clone())));
        let _ = hyper::server::conn::http1::Builder::new()
            .max_buf_size(1 << 20)
            .serve_connection(TokioIo::new(tls), service)
            .await;
    });
    Response::new(
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed(),
    )
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    tunnel_to: Option<String>,
) -> Result<Response<Body>, std::convert::Infallible> {
    if req.method() == hyper::Method::CONNECT {
        return Ok(tunnel(req, shared));
    }
    let absolute = req.uri().scheme().is_some().then(|| req.uri().clone());
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
    // Forward unchanged: to the upstream when there is one; else, in a tunnel, to its host over
    // HTTPS; else (a proxy request in absolute form) to the URI asked for.
    let (base, secure): (Option<hyper::Uri>, bool) = match (&shared.upstream, &tunnel_to, &absolute)
    {
        (Some(u), _, _) => (Some(u.clone()), false),
        (None, Some(a), _) => (format!("https://{a}").parse().ok(), true),
        (None, None, Some(u)) => (Some(u.clone()), false),
        (None, None, None) => (None, false),
    };
    let Some(base) = base else {
        return Ok(text_response(
            StatusCode::BAD_GATEWAY,
            "leastpriv record: nowhere to forward (no --upstream)\n",
        ));
    };
    let mut up = base.into_parts();
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
    let response = match (&shared.https, secure) {
        (Some(https), true) => https.request(out).await,
        _ => shared.client.request(out).await,
    };
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
            if !d.signed {
                // Anonymous: it needed no permission of the caller's.
                rec.unsigned += 1;
                return;
            }
            rec.decoded += 1;
            if let Some(n) = d.note {
                *rec.notes.entry(n).or_default() += 1;
            }
            let mut call: Call = d.call;
            call.outcome = outcome;
            if let Some(w) = rec.calls.as_mut() {
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
