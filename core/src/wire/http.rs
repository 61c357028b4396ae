//! An HTTP/1.1 request, as the decoder reads it: from the recording endpoint's parts, or parsed
//! from its text ([`parse_http`], for vectors and callers that captured raw requests).

use crate::error::{Error, ErrorKind, Result};

/// The parts of a request the decoder reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: the path and the query string, as sent (`/b/k?versionId=1`).
    pub target: String,
    /// The headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, as far as it was read (a streaming body need not be).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of a header, its name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The most headers a request may have.
const MAX_HEADERS: usize = 128;

fn bad(why: &str) -> Error {
    Error::new(ErrorKind::Syntax, format!("HTTP: {why}")).with_field("request")
}

/// Parses an HTTP/1.1 request: the request line, the headers and the body (by
/// `Content-Length`, or chunked; what follows the headers when neither says). The target may be
/// an absolute URI (as a proxy is sent one): its path and query are kept, its authority becomes
/// the `Host` when there is none.
///
/// ```
/// let r = leastpriv::parse_http(b"GET /b/k?versionId=3 HTTP/1.1\r\nHost: b.s3.amazonaws.com\r\n\r\n").unwrap();
/// assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/b/k?versionId=3"));
/// assert_eq!(r.header("HOST"), Some("b.s3.amazonaws.com"));
/// ```
pub fn parse_http(raw: &[u8]) -> Result<HttpRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(bad("the request ends inside its headers")),
        Err(httparse::Error::TooManyHeaders) => return Err(bad("more than 128 headers")),
        Err(_) => return Err(bad("not an HTTP/1.1 request")),
    };
    let method = req.method.unwrap_or_default().to_owned();
    let mut target = req.path.unwrap_or_default().to_owned();
    let mut hs: Vec<(String, String)> = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let v =
            std::str::from_utf8(h.value).map_err(|_| bad("a header value that is not UTF-8"))?;
        hs.push((h.name.to_owned(), v.trim().to_owned()));
    }
    if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        if !hs.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            hs.push(("Host".to_owned(), authority.to_owned()));
        }
        target = path;
    }
    let rest = &raw[head..];
    let find = |name: &str| {
        hs.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let body =
        if find("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
            dechunk(rest)?
        } else if let Some(len) = find("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| bad("a Content-Length that is not a number"))?;
            if len > rest.len() {
                return Err(bad("the body is shorter than its Content-Length"));
            }
            rest[..len].to_vec()
        } else {
            rest.to_vec()
        };
    Ok(HttpRequest {
        method,
        target,
        headers: hs,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("a chunk without its size line"))?;
        let size_text = std::str::from_utf8(&b[..line_end]).map_err(|_| bad("a bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("a bad chunk size"))?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            return Err(bad("a chunk cut short"));
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size + 2..).unwrap_or_default();
    }
}
