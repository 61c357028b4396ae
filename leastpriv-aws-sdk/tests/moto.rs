//! The interceptor on real aws-sdk-rust clients (S3, DynamoDB, SQS) against a moto_server on
//! 127.0.0.1: what it records gives the permissions the Service Authorization Reference says
//! those calls need, one record per operation.

use aws_sdk_s3::config::{Credentials, Region};
use leastpriv::PolicyOptions;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn up(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200")
}

fn start_moto() -> Option<Moto> {
    let exe = match std::env::var("MOTO_SERVER") {
        Ok(e) => e,
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("MOTO_SERVER is not set (scripts/test-all.sh sets it)")
        }
        Err(_) => {
            eprintln!("skipped: MOTO_SERVER is not set (scripts/test-all.sh sets it)");
            return None;
        }
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !up(port) {
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer in 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(moto)
}

#[tokio::test]
async fn s3_dynamodb_and_sqs_clients_are_recorded_with_the_permissions_they_need() {
    let Some(moto) = start_moto() else {
        return;
    };
    let recorder = leastpriv_aws_sdk::Recorder::new();
    let http = aws_smithy_http_client::Builder::new().build_http();
    let creds = Credentials::new("testing", "testing", None, None, "test");
    let region = Region::new("eu-west-1");

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(region.clone())
            .credentials_provider(creds.clone())
            .endpoint_url(&moto.url)
            .force_path_style(true)
            .http_client(http.clone())
            .interceptor(recorder.interceptor())
            .build(),
    );
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(region.clone())
            .credentials_provider(creds.clone())
            .endpoint_url(&moto.url)
            .http_client(http.clone())
            .interceptor(recorder.interceptor())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version_latest()
            .region(region.clone())
            .credentials_provider(creds.clone())
            .endpoint_url(&moto.url)
            .http_client(http)
            .interceptor(recorder.interceptor())
            .build(),
    );

    use aws_sdk_s3::types::{
        BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    };
    s3.create_bucket()
        .bucket("rust-orders")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create_bucket");
    s3.put_object()
        .bucket("rust-orders")
        .key("a/1.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .expect("put_object");
    s3.get_object()
        .bucket("rust-orders")
        .key("a/1.txt")
        .send()
        .await
        .expect("get_object");
    s3.list_objects_v2()
        .bucket("rust-orders")
        .prefix("a/")
        .send()
        .await
        .expect("list_objects_v2");
    s3.delete_objects()
        .bucket("rust-orders")
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("a/1.txt")
                        .build()
                        .expect("key"),
                )
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("delete_objects");
    let missing = s3
        .get_object()
        .bucket("rust-orders")
        .key("missing")
        .send()
        .await;
    assert!(missing.is_err());

    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    ddb.create_table()
        .table_name("rust-orders")
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key schema"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create_table");
    ddb.put_item()
        .table_name("rust-orders")
        .item("pk", AttributeValue::S("o-1".into()))
        .send()
        .await
        .expect("put_item");

    let q = sqs
        .create_queue()
        .queue_name("rust-jobs")
        .send()
        .await
        .expect("create_queue")
        .queue_url
        .expect("a queue URL");
    sqs.send_message()
        .queue_url(&q)
        .message_body("hi")
        .send()
        .await
        .expect("send_message");

    let opts = PolicyOptions {
        account: Some("123456789012".into()),
        ..PolicyOptions::default()
    };
    let got = recorder.permissions(&opts);
    let pair = |a: &str, r: &str| (a.to_owned(), r.to_owned());
    let table = "arn:aws:dynamodb:eu-west-1:123456789012:table/rust-orders";
    let queue = "arn:aws:sqs:eu-west-1:123456789012:rust-jobs";
    let want = vec![
        pair("dynamodb:CreateTable", table),
        pair("dynamodb:PutItem", table),
        pair("s3:CreateBucket", "arn:aws:s3:::rust-orders"),
        pair("s3:DeleteObject", "arn:aws:s3:::rust-orders/a/1.txt"),
        pair("s3:GetObject", "arn:aws:s3:::rust-orders/a/1.txt"),
        pair("s3:GetObject", "arn:aws:s3:::rust-orders/missing"),
        pair("s3:ListBucket", "arn:aws:s3:::rust-orders"),
        pair("s3:PutObject", "arn:aws:s3:::rust-orders/a/1.txt"),
        pair("sqs:CreateQueue", queue),
        pair("sqs:SendMessage", queue),
    ];
    assert_eq!(got, want);
    // One record per operation.
    assert_eq!(recorder.observed().counts().calls, 10);
    // The failed GetObject counts as failed.
    let failed: u64 = recorder
        .observed()
        .permissions()
        .map(|p| p.stats.failed)
        .sum();
    assert_eq!(failed, 1);
}
