//! An [`Intercept`] for aws-sdk-rust that records every operation a client runs, decoded from
//! the request it sends by leastpriv's wire decoder, into a [`leastpriv::Observed`]: the
//! least-privilege policy of a Rust program's integration tests in three lines.
//!
//! ```no_run
//! let recorder = leastpriv_aws_sdk::Recorder::new();
//! let config = aws_sdk_s3::Config::builder() // or `aws_sdk_s3::config::Builder::from(&sdk_config)`
//!     .behavior_version_latest()
//!     .interceptor(recorder.interceptor())
//!     .build();
//! let s3 = aws_sdk_s3::Client::from_conf(config);
//! // ... the code under test uses `s3` ...
//! println!("{}", recorder.policy_json(&leastpriv::PolicyOptions::default()).unwrap());
//! ```
//!
//! The operation and service come from the config bag's [`Metadata`]; the parameters and the
//! Region from the serialized request as it is about to be sent (after the endpoint is applied
//! and the request signed), read in `read_before_transmit`; the outcome in
//! `read_after_execution`, so an operation counts once however many attempts it takes. A
//! streaming body (an S3 upload) is not read.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use leastpriv::{Call, Observed, Outcome, Pipeline, PolicyOptions, ReadOptions, Rules};
use std::sync::{Arc, Mutex};

/// What the interceptors of one recorder have seen; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Recorder {
    pipeline: Arc<Mutex<Pipeline>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder with the built-in rules.
    pub fn new() -> Recorder {
        Recorder::with_rules(Rules::builtin())
    }

    /// A recorder with your own rules (see [`Rules::with_files`]).
    pub fn with_rules(rules: Arc<Rules>) -> Recorder {
        Recorder {
            pipeline: Arc::new(Mutex::new(Pipeline::new(rules, ReadOptions::default()))),
        }
    }

    /// An interceptor recording into this recorder: `config.interceptor(recorder.interceptor())`.
    pub fn interceptor(&self) -> LeastprivInterceptor {
        LeastprivInterceptor {
            recorder: self.clone(),
        }
    }

    /// Counts a call (as the interceptor does; for calls made otherwise).
    pub fn record(&self, call: &Call) {
        if let Ok(mut p) = self.pipeline.lock() {
            p.record(call);
        }
    }

    /// What has been seen so far.
    pub fn observed(&self) -> Observed {
        self.pipeline
            .lock()
            .map(|p| p.observed().clone())
            .unwrap_or_default()
    }

    /// The (action, resource) pairs seen, as `leastpriv permissions` prints them.
    pub fn permissions(&self, opts: &PolicyOptions) -> Vec<(String, String)> {
        leastpriv::permission_lines(&self.observed(), opts)
            .into_iter()
            .map(|l| (l.action, l.resource))
            .collect()
    }

    /// The policy as IAM JSON.
    pub fn policy_json(&self, opts: &PolicyOptions) -> leastpriv::Result<String> {
        let set = leastpriv::build_policies(&self.observed(), opts)?;
        Ok(leastpriv::render_json(&set, opts.group_by))
    }
}

/// The interceptor (see the crate docs).
#[derive(Debug, Clone)]
pub struct LeastprivInterceptor {
    recorder: Recorder,
}

/// The call of the operation in flight, decoded from its last attempt's request.
#[derive(Debug, Clone)]
struct Pending(Call);

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

impl Intercept for LeastprivInterceptor {
    fn name(&self) -> &'static str {
        "leastpriv"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let uri = req.uri();
        let (authority, target) = split_uri(uri);
        let mut headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            headers.push(("host".to_owned(), authority.to_owned()));
        }
        let http = leastpriv::HttpRequest {
            method: req.method().to_owned(),
            target: target.to_owned(),
            headers,
            body: req.body().bytes().map(<[u8]>::to_vec).unwrap_or_default(),
        };
        let metadata = cfg.load::<Metadata>().cloned();
        let mut call = match leastpriv::decode(&http) {
            // Anonymous (an SDK configured with no credentials): no permission needed.
            Ok(d) if !d.signed => return Ok(()),
            Ok(d) => d.call,
            // Not decoded: the operation by the SDK's own name, its parameters unknown.
            Err(_) => match &metadata {
                Some(m) => Call::new(
                    m.service(),
                    m.name(),
                    leastpriv::Value::Object(Default::default()),
                ),
                None => return Ok(()),
            },
        };
        if let Some(m) = &metadata {
            // The SDK knows the operation: its name wins over what the request looked like.
            call.operation = m.name().to_owned();
        }
        let scheme = if uri.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        call.endpoint = Some(format!("{scheme}://{authority}"));
        cfg.interceptor_state().store_put(Pending(call));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Pending(call)) = cfg.load::<Pending>().cloned() else {
            return Ok(());
        };
        let mut call = call;
        let failed = match context.output_or_error() {
            Some(Ok(_)) => false,
            Some(Err(_)) => true,
            None => context.response().is_none_or(|r| !r.status().is_success()),
        };
        if failed {
            let code = context
                .response()
                .and_then(|r| r.headers().get("x-amzn-errortype"))
                .map(|v| v.split(':').next().unwrap_or_default().to_owned())
                .filter(|c| !c.is_empty());
            call.outcome = Outcome::Error { code };
        }
        self.recorder.record(&call);
        Ok(())
    }
}

/// `(authority, path and query)` of an absolute URI.
fn split_uri(uri: &str) -> (&str, &str) {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .unwrap_or(uri);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::split_uri;

    #[test]
    fn uris_split_into_authority_and_target() {
        assert_eq!(
            split_uri("https://b.s3.amazonaws.com/k?x=1"),
            ("b.s3.amazonaws.com", "/k?x=1")
        );
        assert_eq!(split_uri("http://127.0.0.1:4566"), ("127.0.0.1:4566", "/"));
        assert_eq!(split_uri("http://h?Action=X"), ("h", "?Action=X"));
    }
}
