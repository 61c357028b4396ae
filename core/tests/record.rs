//! `leastpriv record` on bad input: a malformed request, oversized headers, a body cut short,
//! an upstream that does not answer. The endpoint answers with an error, keeps running, and
//! writes what it recorded at the stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn send(port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // Requests say `Connection: close` (or are refused): the answer ends with the connection.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `bytes` and closes the writing side: a request cut short.
fn send_cut(port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn bad_requests_get_errors_and_the_endpoint_carries_on() {
    // An upstream that refuses connections: a port opened and closed again.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = std::env::temp_dir().join(format!("leastpriv-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let calls = dir.join("calls.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leastpriv"))
        .args([
            "record",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("http://127.0.0.1:{closed}"),
            "-o",
            calls.to_str().expect("utf-8"),
            "--config",
            "none",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("read");
    let port: u16 = first
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    // Not HTTP.
    assert!(send_cut(port, b"\x00\x01\x02 hello\r\n\r\n").starts_with("HTTP/1.1 400"));
    // Headers far over the limit.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2 << 20)
    );
    let r = send(port, big.as_bytes());
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 4"), "{r:.60}");
    // A body cut short: the connection ends, nothing is recorded of it.
    let _ = send_cut(
        port,
        b"POST / HTTP/1.1\r\nHost: sqs.eu-west-1.amazonaws.com\r\nContent-Length: 100\r\n\r\n{\"Queue",
    )
    .len();
    // A good request whose upstream does not answer: 502, and the call is still recorded.
    let good = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Amz-Target: AmazonSQS.ListQueues\r\n\
                Content-Type: application/x-amz-json-1.0\r\n\
                Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=0\r\n\
                Content-Length: 2\r\n\r\n{}";
    let r = send(port, good.as_bytes());
    assert!(r.starts_with("HTTP/1.1 502"), "{r}");
    // An unsigned (anonymous) request: forwarded, needing no permission, not counted.
    let anonymous = "GET /public-bucket/a.txt HTTP/1.1\r\nHost: s3.eu-west-1.amazonaws.com\r\nConnection: close\r\n\r\n";
    assert!(send(port, anonymous.as_bytes()).starts_with("HTTP/1.1 502"));
    // Still serving after all that.
    assert!(send(port, good.as_bytes()).starts_with("HTTP/1.1 502"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    let mut rest = String::new();
    err.read_to_string(&mut rest).expect("read");
    assert!(status.success(), "{rest}");
    assert!(rest.contains("2 call(s) recorded, 1 unsigned"), "{rest}");
    let text = std::fs::read_to_string(&calls).expect("calls written at the stop");
    assert_eq!(text.lines().count(), 2);
    assert!(
        text.contains("\"operation\":\"ListQueues\"") && text.contains("\"outcome\":\"error\"")
    );
    // Nothing of the requests' content is echoed on stderr.
    assert!(!rest.contains("hello") && !rest.contains("aaaa"), "{rest}");
}
