//! Read throughput of the three event formats, end to end through the library.
//!
//! Generates, in a temporary directory, the same deterministic stream of events as μ/log EDN
//! (the simple-file publisher), μ/log JSON lines and plain JSON lines (the Call schema), with a
//! fixed number of distinct resources so the number of distinct permissions stays bounded however
//! many events there are. Then reads each file with [`leastpriv::read_path_into`] into an
//! [`Observed`] (builtin rules, format auto-detected, as the CLI does) and prints, per format:
//! events, bytes, seconds, events/s, MB/s and distinct permissions; then times
//! `build_policies` + `render_json` on each result.
//!
//! ```text
//! cargo bench -p leastpriv --bench throughput              # all three formats
//! cargo bench -p leastpriv --bench throughput -- jsonl     # only formats whose name matches
//! ```
//!
//! Environment:
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `LEASTPRIV_BENCH_EVENTS` | 1000000 | events per file |
//! | `LEASTPRIV_BENCH_RESOURCES` | 1000 | distinct resources (S3 buckets and objects, tables, queues) |
//! | `LEASTPRIV_BENCH_ITERS` | 1 | reads per file; the fastest is reported |
//! | `LEASTPRIV_BENCH_OUT` | (temp dir, removed) | write the files to this directory and keep them |
//! | `LEASTPRIV_BENCH_GENERATE_ONLY` | unset | `1`: only write the files (with `LEASTPRIV_BENCH_OUT`) |
//!
//! The files are `events.edn` (μ/log EDN), `events.mulog.jsonl` (μ/log JSON) and `calls.jsonl`
//! (plain JSON lines). MB is 10^6 bytes.

use leastpriv::{
    Format, Observed, PolicyOptions, ReadOptions, Rules, build_policies, detect_format,
    permission_lines, read_path_into, render_json, render_permission_lines,
};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A tiny deterministic PRNG (SplitMix64): the same seed gives the same files on every machine.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn flake(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..32)
            .map(|_| ALPHABET[self.below(64) as usize] as char)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// A small EDN/JSON value model, written out in each format.

enum K {
    /// A keyword key: `:Bucket` in EDN, `"Bucket"` in JSON.
    Kw(&'static str),
    /// A string key: `"orders"` in both.
    Str(String),
}

enum V {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A keyword value: `:s3` in EDN, `"s3"` in JSON.
    Kw(&'static str),
    /// A symbol: `clojure.lang.ExceptionInfo` in EDN, a string in JSON.
    Sym(&'static str),
    /// `#mulog/flake "..."` in EDN, the string in JSON.
    Flake(String),
    /// `#object[CLASS 0xHASH "CLASS@HASH"]` in EDN, `"CLASS@HASH"` in JSON.
    Object(&'static str, u32),
    Map(Vec<(K, V)>),
    Vec(Vec<V>),
    /// `#error {...}` printed over several lines in EDN (as μ/log does), the map in JSON.
    Error(Box<V>),
}

fn kw(k: &'static str, v: V) -> (K, V) {
    (K::Kw(k), v)
}

fn sk(k: impl Into<String>, v: V) -> (K, V) {
    (K::Str(k.into()), v)
}

fn s(v: impl Into<String>) -> V {
    V::Str(v.into())
}

fn write_escaped(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_edn(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Nil => out.extend_from_slice(b"nil"),
        V::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        V::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        V::Str(t) => write_escaped(out, t),
        V::Kw(k) => {
            out.push(b':');
            out.extend_from_slice(k.as_bytes());
        }
        V::Sym(t) => out.extend_from_slice(t.as_bytes()),
        V::Flake(f) => {
            out.extend_from_slice(b"#mulog/flake ");
            write_escaped(out, f);
        }
        V::Object(class, hash) => {
            out.extend_from_slice(b"#object[");
            write_escaped(out, class);
            out.extend_from_slice(format!(" 0x{hash:08x} ").as_bytes());
            write_escaped(out, &format!("{class}@{hash:08x}"));
            out.push(b']');
        }
        V::Map(entries) => write_edn_map(entries, b", ", out),
        V::Vec(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_edn(item, out);
            }
            out.push(b']');
        }
        V::Error(inner) => {
            // μ/log prints exceptions over several lines: `#error {\n :cause ...\n :via ...}`.
            out.extend_from_slice(b"#error {\n ");
            match &**inner {
                V::Map(entries) => {
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.extend_from_slice(b"\n ");
                        }
                        write_edn_key(k, out);
                        out.push(b' ');
                        write_edn(v, out);
                    }
                }
                other => write_edn(other, out),
            }
            out.push(b'}');
        }
    }
}

fn write_edn_key(k: &K, out: &mut Vec<u8>) {
    match k {
        K::Kw(k) => {
            out.push(b':');
            out.extend_from_slice(k.as_bytes());
        }
        K::Str(t) => write_escaped(out, t),
    }
}

fn write_edn_map(entries: &[(K, V)], sep: &[u8], out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        write_edn_key(k, out);
        out.push(b' ');
        write_edn(v, out);
    }
    out.push(b'}');
}

fn write_json(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Nil => out.extend_from_slice(b"null"),
        V::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        V::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        V::Str(t) | V::Flake(t) => write_escaped(out, t),
        V::Kw(t) | V::Sym(t) => write_escaped(out, t),
        V::Object(class, hash) => write_escaped(out, &format!("{class}@{hash:08x}")),
        V::Map(entries) => {
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match k {
                    K::Kw(t) => write_escaped(out, t),
                    K::Str(t) => write_escaped(out, t),
                }
                out.push(b':');
                write_json(v, out);
            }
            out.push(b'}');
        }
        V::Vec(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        V::Error(inner) => write_json(inner, out),
    }
}

// ---------------------------------------------------------------------------------------------
// The event stream.

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";
const BUCKETS: usize = 8;

/// The fixed resource pools: S3 buckets and objects, DynamoDB tables, SQS queues.
struct Pools {
    objects: usize,
    tables: usize,
    queues: usize,
}

impl Pools {
    fn new(resources: usize) -> Pools {
        let rest = resources.max(BUCKETS + 3) - BUCKETS;
        let objects = (rest * 60 / 100).max(1);
        let tables = (rest * 20 / 100).max(1);
        let queues = rest.saturating_sub(objects + tables).max(1);
        Pools {
            objects,
            tables,
            queues,
        }
    }

    fn total(&self) -> usize {
        BUCKETS + self.objects + self.tables + self.queues
    }

    fn bucket(i: usize) -> String {
        format!("acme-order-documents-{i}")
    }

    /// Object `j`: its bucket and key.
    fn object(&self, rng: &mut Rng) -> (String, String) {
        let j = rng.below(self.objects as u64) as usize;
        (
            Pools::bucket(j % BUCKETS),
            format!("invoices/{}/o-{j:06}.pdf", 2019 + j % 6),
        )
    }

    fn table(&self, rng: &mut Rng) -> String {
        format!("orders-{:04}", rng.below(self.tables as u64))
    }

    fn queue_url(&self, rng: &mut Rng) -> String {
        format!(
            "https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/order-events-{:04}",
            rng.below(self.queues as u64)
        )
    }
}

/// One generated event: an `:aws/request` call or another μ/log event.
enum Event {
    Aws {
        api: &'static str,
        op: &'static str,
        request: V,
        /// `(error code, message)` when the call failed.
        error: Option<(&'static str, &'static str)>,
    },
    Other,
}

fn ddb_s(v: impl Into<String>) -> V {
    V::Map(vec![kw("S", s(v))])
}

fn ddb_n(v: impl Into<String>) -> V {
    V::Map(vec![kw("N", s(v))])
}

fn order_id(rng: &mut Rng) -> String {
    format!("o-{}", rng.below(10_000_000))
}

fn next_event(rng: &mut Rng, pools: &Pools) -> Event {
    let aws = |api, op, request| Event::Aws {
        api,
        op,
        request: V::Map(request),
        error: None,
    };
    // Weights out of 1000: a service that reads and writes S3, DynamoDB and SQS.
    let roll = rng.below(1000);
    match roll {
        0..200 => {
            let (b, k) = pools.object(rng);
            let mut req = vec![kw("Bucket", s(b)), kw("Key", s(k))];
            if rng.below(4) == 0 {
                req.push(kw("Range", s("bytes=0-1048575")));
            }
            aws("s3", "GetObject", req)
        }
        200..320 => {
            let (b, k) = pools.object(rng);
            let id = order_id(rng);
            aws(
                "s3",
                "PutObject",
                vec![
                    kw("Bucket", s(b)),
                    kw("Key", s(k)),
                    kw("Body", V::Object("[B", rng.next() as u32)),
                    kw("ContentType", s("application/pdf")),
                    kw("Metadata", V::Map(vec![sk("order-id", s(id))])),
                ],
            )
        }
        320..350 => {
            let (b, k) = pools.object(rng);
            aws(
                "s3",
                "HeadObject",
                vec![kw("Bucket", s(b)), kw("Key", s(k))],
            )
        }
        350..380 => {
            let (b, k) = pools.object(rng);
            aws(
                "s3",
                "DeleteObject",
                vec![kw("Bucket", s(b)), kw("Key", s(k))],
            )
        }
        380..420 => {
            let b = Pools::bucket(rng.below(BUCKETS as u64) as usize);
            let year = 2019 + rng.below(6);
            aws(
                "s3",
                "ListObjectsV2",
                vec![
                    kw("Bucket", s(b)),
                    kw("Prefix", s(format!("invoices/{year}/"))),
                    kw("MaxKeys", V::Int(1000)),
                ],
            )
        }
        420..560 => {
            let t = pools.table(rng);
            let id = order_id(rng);
            aws(
                "dynamodb",
                "GetItem",
                vec![
                    kw("TableName", s(t)),
                    kw("Key", V::Map(vec![kw("pk", ddb_s(id))])),
                    kw("ConsistentRead", V::Bool(true)),
                ],
            )
        }
        560..640 => {
            let t = pools.table(rng);
            let id = order_id(rng);
            let cents = rng.below(100_000);
            let sku = format!("sku-{}", rng.below(500));
            let qty = rng.below(9) + 1;
            aws(
                "dynamodb",
                "PutItem",
                vec![
                    kw("TableName", s(t)),
                    kw(
                        "Item",
                        V::Map(vec![
                            kw("pk", ddb_s(id)),
                            kw("status", ddb_s("NEW")),
                            kw(
                                "total",
                                ddb_n(format!("{}.{:02}", cents / 100, cents % 100)),
                            ),
                            kw(
                                "lines",
                                V::Map(vec![kw(
                                    "L",
                                    V::Vec(vec![V::Map(vec![kw(
                                        "M",
                                        V::Map(vec![
                                            kw("sku", ddb_s(sku)),
                                            kw("qty", ddb_n(qty.to_string())),
                                        ]),
                                    )])]),
                                )]),
                            ),
                        ]),
                    ),
                    kw("ConditionExpression", s("attribute_not_exists(pk)")),
                ],
            )
        }
        640..720 => {
            let t = pools.table(rng);
            let customer = format!("c-{}", rng.below(100_000));
            aws(
                "dynamodb",
                "Query",
                vec![
                    kw("TableName", s(t)),
                    kw("IndexName", s("by-customer")),
                    kw("KeyConditionExpression", s("customer = :c")),
                    kw(
                        "ExpressionAttributeValues",
                        V::Map(vec![sk(":c", ddb_s(customer))]),
                    ),
                    kw("Limit", V::Int(50)),
                ],
            )
        }
        720..770 => {
            let t = pools.table(rng);
            let id = order_id(rng);
            aws(
                "dynamodb",
                "UpdateItem",
                vec![
                    kw("TableName", s(t)),
                    kw("Key", V::Map(vec![kw("pk", ddb_s(id))])),
                    kw("UpdateExpression", s("SET #s = :s")),
                    kw(
                        "ExpressionAttributeNames",
                        V::Map(vec![sk("#s", s("status"))]),
                    ),
                    kw(
                        "ExpressionAttributeValues",
                        V::Map(vec![sk(":s", ddb_s("PAID"))]),
                    ),
                ],
            )
        }
        770..800 => {
            let t1 = pools.table(rng);
            let t2 = pools.table(rng);
            let keys = |rng: &mut Rng, n: usize| {
                V::Vec(
                    (0..n)
                        .map(|_| V::Map(vec![kw("pk", ddb_s(order_id(rng)))]))
                        .collect(),
                )
            };
            let k1 = keys(rng, 3);
            let k2 = keys(rng, 1);
            let mut items = vec![sk(t1.clone(), V::Map(vec![kw("Keys", k1)]))];
            if t2 != t1 {
                items.push(sk(t2, V::Map(vec![kw("Keys", k2)])));
            }
            aws(
                "dynamodb",
                "BatchGetItem",
                vec![kw("RequestItems", V::Map(items))],
            )
        }
        800..820 => {
            let (ta, tb, tc) = (pools.table(rng), pools.table(rng), pools.table(rng));
            let sku = format!("sku-{}", rng.below(500));
            let id = order_id(rng);
            let customer = format!("c-{}", rng.below(100_000));
            aws(
                "dynamodb",
                "TransactWriteItems",
                vec![kw(
                    "TransactItems",
                    V::Vec(vec![
                        V::Map(vec![kw(
                            "Update",
                            V::Map(vec![
                                kw("TableName", s(ta)),
                                kw("Key", V::Map(vec![kw("sku", ddb_s(sku))])),
                                kw("UpdateExpression", s("SET qty = qty - :one")),
                            ]),
                        )]),
                        V::Map(vec![kw(
                            "Put",
                            V::Map(vec![
                                kw("TableName", s(tb)),
                                kw("Item", V::Map(vec![kw("pk", ddb_s(id))])),
                            ]),
                        )]),
                        V::Map(vec![kw(
                            "ConditionCheck",
                            V::Map(vec![
                                kw("TableName", s(tc)),
                                kw("Key", V::Map(vec![kw("id", ddb_s(customer))])),
                                kw("ConditionExpression", s("attribute_exists(id)")),
                            ]),
                        )]),
                    ]),
                )],
            )
        }
        820..900 => {
            let q = pools.queue_url(rng);
            let id = order_id(rng);
            aws(
                "sqs",
                "SendMessage",
                vec![
                    kw("QueueUrl", s(q)),
                    kw(
                        "MessageBody",
                        s(format!("{{\"order\":\"{id}\",\"type\":\"created\"}}")),
                    ),
                    kw(
                        "MessageAttributes",
                        V::Map(vec![sk(
                            "type",
                            V::Map(vec![
                                kw("DataType", s("String")),
                                kw("StringValue", s("created")),
                            ]),
                        )]),
                    ),
                ],
            )
        }
        900..950 => {
            let q = pools.queue_url(rng);
            aws(
                "sqs",
                "ReceiveMessage",
                vec![
                    kw("QueueUrl", s(q)),
                    kw("MaxNumberOfMessages", V::Int(10)),
                    kw("WaitTimeSeconds", V::Int(20)),
                ],
            )
        }
        950..975 => {
            let q = pools.queue_url(rng);
            let n = rng.below(4) + 1;
            let entries = (1..=n)
                .map(|i| {
                    V::Map(vec![
                        kw("Id", s(i.to_string())),
                        kw("ReceiptHandle", s(format!("AQEB{:016x}", rng.next()))),
                    ])
                })
                .collect();
            aws(
                "sqs",
                "DeleteMessageBatch",
                vec![kw("QueueUrl", s(q)), kw("Entries", V::Vec(entries))],
            )
        }
        975..980 => {
            let (b, k) = pools.object(rng);
            Event::Aws {
                api: "s3",
                op: "GetObject",
                request: V::Map(vec![kw("Bucket", s(b)), kw("Key", s(k))]),
                error: Some(("NoSuchKey", "The specified key does not exist.")),
            }
        }
        _ => Event::Other,
    }
}

/// Writes one event in the three formats (each line ends with `\n`).
fn render(
    ev: &Event,
    rng: &mut Rng,
    ts: u64,
    edn: &mut Vec<u8>,
    mulog_json: &mut Vec<u8>,
    jsonl: &mut Vec<u8>,
) {
    let trace = rng.flake();
    let duration = 1_000_000 + rng.below(90_000_000) as i64;
    let mut head = vec![
        kw("mulog/event-name", V::Nil), // set below
        kw("mulog/timestamp", V::Int(ts as i64)),
        kw("mulog/trace-id", V::Flake(trace.clone())),
    ];
    match ev {
        Event::Aws {
            api,
            op,
            request,
            error,
        } => {
            head[0].1 = V::Kw("aws/request");
            head.push(kw("mulog/root-trace", V::Flake(trace)));
            head.push(kw("mulog/parent-trace", V::Nil));
            head.push(kw("mulog/duration", V::Int(duration)));
            head.push(kw("mulog/namespace", s("orders.store")));
            head.push(kw(
                "mulog/outcome",
                V::Kw(if error.is_some() { "error" } else { "ok" }),
            ));
            head.push(kw("app-name", s("order-service")));
            head.push(kw("env", s("prod")));
            head.push(kw("api", V::Kw(api)));
            head.push(kw("operation", V::Kw(op)));
            // `request` is written by reference: split the map to avoid cloning it.
            let mut tail = Vec::new();
            if let Some((code, message)) = error {
                tail.push(kw("exception", exception(code, message)));
            }
            write_event_edn(&head, request, &tail, edn);
            write_event_json(&head, request, &tail, mulog_json);

            // Plain JSON lines: the Call schema.
            jsonl.extend_from_slice(b"{\"service\":");
            write_escaped(jsonl, api);
            jsonl.extend_from_slice(b",\"operation\":");
            write_escaped(jsonl, op);
            jsonl.extend_from_slice(b",\"params\":");
            write_json(request, jsonl);
            jsonl.extend_from_slice(
                format!(",\"region\":\"{REGION}\",\"account\":\"{ACCOUNT}\"").as_bytes(),
            );
            if let Some((code, _)) = error {
                jsonl.extend_from_slice(
                    format!(",\"outcome\":\"error\",\"error_code\":\"{code}\"").as_bytes(),
                );
            }
            jsonl.extend_from_slice(b"}\n");
        }
        Event::Other => {
            head[0].1 = V::Kw("orders.http/request");
            head.push(kw("mulog/namespace", s("orders.http")));
            head.push(kw("mulog/outcome", V::Kw("ok")));
            head.push(kw("app-name", s("order-service")));
            head.push(kw("uri", s("/orders")));
            head.push(kw("method", V::Kw("post")));
            head.push(kw("status", V::Int(201)));
            let ev = V::Map(head);
            write_edn(&ev, edn);
            edn.push(b'\n');
            write_json(&ev, mulog_json);
            mulog_json.push(b'\n');
            // The plain Call format has no non-AWS events: write a cheap call in its place.
            jsonl.extend_from_slice(
                format!(
                    "{{\"service\":\"sqs\",\"operation\":\"ListQueues\",\"params\":{{}},\"region\":\"{REGION}\",\"account\":\"{ACCOUNT}\"}}\n"
                )
                .as_bytes(),
            );
        }
    }
}

fn exception(code: &'static str, message: &'static str) -> V {
    let anomaly = kw(
        "cognitect.anomalies/category",
        V::Kw("cognitect.anomalies/not-found"),
    );
    V::Error(Box::new(V::Map(vec![
        kw("cause", s(message)),
        kw(
            "data",
            V::Map(vec![
                kw(
                    "cognitect.anomalies/category",
                    V::Kw("cognitect.anomalies/not-found"),
                ),
                kw(
                    "Error",
                    V::Map(vec![kw("Code", s(code)), kw("Message", s(message))]),
                ),
            ]),
        ),
        kw(
            "via",
            V::Vec(vec![V::Map(vec![
                kw("type", V::Sym("clojure.lang.ExceptionInfo")),
                kw("message", s(message)),
                kw("data", V::Map(vec![anomaly])),
                kw(
                    "at",
                    V::Vec(vec![
                        V::Sym("orders.store$fetch_invoice"),
                        V::Sym("invokeStatic"),
                        s("store.clj"),
                        V::Int(88),
                    ]),
                ),
            ])]),
        ),
        kw(
            "trace",
            V::Vec(vec![
                V::Vec(vec![
                    V::Sym("orders.store$fetch_invoice"),
                    V::Sym("invokeStatic"),
                    s("store.clj"),
                    V::Int(88),
                ]),
                V::Vec(vec![
                    V::Sym("clojure.lang.AFn"),
                    V::Sym("applyToHelper"),
                    s("AFn.java"),
                    V::Int(160),
                ]),
            ]),
        ),
    ])))
}

fn write_event_edn(head: &[(K, V)], request: &V, tail: &[(K, V)], out: &mut Vec<u8>) {
    out.push(b'{');
    for (k, v) in head {
        write_edn_key(k, out);
        out.push(b' ');
        write_edn(v, out);
        out.extend_from_slice(b", ");
    }
    out.extend_from_slice(b":request ");
    write_edn(request, out);
    for (k, v) in tail {
        out.extend_from_slice(b", ");
        write_edn_key(k, out);
        out.push(b' ');
        write_edn(v, out);
    }
    out.extend_from_slice(b"}\n");
}

fn write_event_json(head: &[(K, V)], request: &V, tail: &[(K, V)], out: &mut Vec<u8>) {
    out.push(b'{');
    for (k, v) in head {
        match k {
            K::Kw(t) => write_escaped(out, t),
            K::Str(t) => write_escaped(out, t),
        }
        out.push(b':');
        write_json(v, out);
        out.push(b',');
    }
    out.extend_from_slice(b"\"request\":");
    write_json(request, out);
    for (k, v) in tail {
        out.push(b',');
        match k {
            K::Kw(t) => write_escaped(out, t),
            K::Str(t) => write_escaped(out, t),
        }
        out.push(b':');
        write_json(v, out);
    }
    out.extend_from_slice(b"}\n");
}

// ---------------------------------------------------------------------------------------------
// The files and the run.

struct Input {
    name: &'static str,
    format: Format,
    path: PathBuf,
    bytes: u64,
}

/// The output directory: removed on drop unless the caller named it.
struct Dir {
    path: PathBuf,
    keep: bool,
}

impl Drop for Dir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a whole number")),
        Err(_) => default,
    }
}

fn generate(dir: &Path, events: usize, resources: usize) -> std::io::Result<Vec<Input>> {
    let pools = Pools::new(resources);
    let names = [
        ("mulog-edn", Format::MulogEdn, "events.edn"),
        ("mulog-json", Format::MulogJson, "events.mulog.jsonl"),
        ("jsonl", Format::Jsonl, "calls.jsonl"),
    ];
    let mut writers = Vec::new();
    for (_, _, file) in &names {
        writers.push(BufWriter::with_capacity(
            1 << 20,
            File::create(dir.join(file))?,
        ));
    }
    let mut rng = Rng(0x6c65_6173_7470_7269); // "leastpri"
    let mut ts: u64 = 1_700_000_000_000;
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..events {
        ts += rng.below(100);
        let ev = next_event(&mut rng, &pools);
        a.clear();
        b.clear();
        c.clear();
        render(&ev, &mut rng, ts, &mut a, &mut b, &mut c);
        writers[0].write_all(&a)?;
        writers[1].write_all(&b)?;
        writers[2].write_all(&c)?;
    }
    let mut inputs = Vec::new();
    for ((name, format, file), w) in names.iter().zip(writers) {
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let path = dir.join(file);
        let bytes = std::fs::metadata(&path)?.len();
        // The library must detect the format the CLI would see.
        let mut head = vec![0u8; 4096];
        let n = File::open(&path)?.read(&mut head)?;
        assert_eq!(
            detect_format(&head[..n]),
            Some(*format),
            "{file}: format detection"
        );
        inputs.push(Input {
            name,
            format: *format,
            path,
            bytes,
        });
    }
    Ok(inputs)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let events = env_usize("LEASTPRIV_BENCH_EVENTS", 1_000_000);
    let resources = env_usize("LEASTPRIV_BENCH_RESOURCES", 1000);
    let iters = env_usize("LEASTPRIV_BENCH_ITERS", 1).max(1);
    let generate_only = std::env::var("LEASTPRIV_BENCH_GENERATE_ONLY").is_ok_and(|v| v == "1");
    // `cargo bench` passes `--bench`; other arguments filter the formats by name.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();

    let dir = match std::env::var_os("LEASTPRIV_BENCH_OUT") {
        Some(p) => Dir {
            path: PathBuf::from(p),
            keep: true,
        },
        None => Dir {
            path: std::env::temp_dir().join(format!(
                "leastpriv-bench-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            )),
            keep: false,
        },
    };
    std::fs::create_dir_all(&dir.path).expect("create the output directory");

    let pools = Pools::new(resources);
    let t = Instant::now();
    let inputs = generate(&dir.path, events, resources).expect("write the event files");
    let total: u64 = inputs.iter().map(|i| i.bytes).sum();
    println!(
        "generated {events} events x 3 formats ({:.1} MB) over {} distinct resources ({BUCKETS} buckets, {} objects, {} tables, {} queues) in {:.2} s in {}",
        total as f64 / 1e6,
        pools.total(),
        pools.objects,
        pools.tables,
        pools.queues,
        secs(t.elapsed()),
        dir.path.display()
    );
    if generate_only {
        return;
    }

    let rules = Rules::builtin();
    let read_opts = ReadOptions::default(); // format: auto, as the CLI
    let policy_opts = PolicyOptions {
        region: Some(REGION.into()),
        account: Some(ACCOUNT.into()),
        ..PolicyOptions::default()
    };

    println!();
    println!(
        "{:<11} {:>9} {:>9} {:>8} {:>12} {:>8} {:>8} {:>9} {:>8} {:>6}",
        "format",
        "events",
        "calls",
        "skipped",
        "MB",
        "seconds",
        "events/s",
        "MB/s",
        "perms",
        "iters"
    );
    let mut results = Vec::new();
    for input in &inputs {
        if !filters.is_empty() && !filters.iter().any(|f| input.name.contains(f.as_str())) {
            continue;
        }
        let mut best: Option<Duration> = None;
        let mut observed = Observed::new();
        for _ in 0..iters {
            let mut seen = Observed::new();
            let path = input.path.to_str().expect("a UTF-8 temp path");
            let t = Instant::now();
            read_path_into(&rules, &mut seen, path, &read_opts)
                .unwrap_or_else(|e| panic!("{}: {e}", input.name));
            let d = t.elapsed();
            best = Some(best.map_or(d, |b| b.min(d)));
            observed = seen;
        }
        let d = best.unwrap_or_default();
        let counts = observed.counts();
        let read_events = counts.calls + counts.skipped + counts.malformed;
        assert_eq!(
            read_events, events as u64,
            "{}: every event is read",
            input.name
        );
        println!(
            "{:<11} {:>9} {:>9} {:>8} {:>12.1} {:>8.3} {:>8.0} {:>9.1} {:>8} {:>6}",
            input.name,
            read_events,
            counts.calls,
            counts.skipped,
            input.bytes as f64 / 1e6,
            secs(d),
            read_events as f64 / secs(d),
            input.bytes as f64 / 1e6 / secs(d),
            observed.len(),
            iters
        );
        debug_assert!(matches!(
            input.format,
            Format::MulogEdn | Format::MulogJson | Format::Jsonl
        ));
        results.push((input.name, observed));
    }

    println!();
    println!(
        "{:<11} {:>8} {:>15} {:>13} {:>10} {:>10} {:>16} {:>10}",
        "policy of",
        "perms",
        "build_policies",
        "render_json",
        "documents",
        "statements",
        "permission_lines",
        "lines"
    );
    for (name, observed) in &results {
        let t = Instant::now();
        let set = build_policies(observed, &policy_opts).expect("no rewrite rules, no error");
        let t_build = t.elapsed();
        let t = Instant::now();
        let json = render_json(&set, false);
        let t_render = t.elapsed();
        let t = Instant::now();
        let lines = permission_lines(observed, &policy_opts);
        let text = render_permission_lines(&lines);
        let t_lines = t.elapsed();
        let documents: usize = set.policies.iter().map(|p| p.documents.len()).sum();
        let statements: usize = set
            .policies
            .iter()
            .flat_map(|p| &p.documents)
            .map(|d| d.statements.len())
            .sum();
        println!(
            "{:<11} {:>8} {:>13.2}ms {:>11.2}ms {:>10} {:>10} {:>14.2}ms {:>10}",
            name,
            observed.len(),
            secs(t_build) * 1e3,
            secs(t_render) * 1e3,
            documents,
            statements,
            secs(t_lines) * 1e3,
            lines.len()
        );
        std::hint::black_box((json.len(), text.len()));
    }
}
