//! `Policy`: the core's [`PolicyResult`], handed out in its JSON form.

use crate::error::to_js;
use crate::native::{arg, options};
use leastpriv::{PolicyResult, TerraformOptions, Value};
use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

/// The policy built from a recorder: one or more IAM documents, plus diagnostics.
#[napi]
#[derive(Debug)]
pub struct Policy(pub(crate) PolicyResult);

#[napi]
impl Policy {
    /// The IAM JSON, as the CLI writes it: one document; a JSON array when it was split; with
    /// `groupBy`, an object from principal to document (or array).
    #[napi]
    pub fn to_json(&self, env: Env) -> napi::Result<String> {
        self.0.to_json().map_err(|e| to_js(&env, &e))
    }

    /// The policy as Terraform `aws_iam_policy_document` data sources. `name` renames the
    /// document blocks (not with `groupBy`). Options: `provider` (the AWS provider's major
    /// version, 4 or later; default 6), `dataSources` (default true).
    #[napi(
        ts_args_type = "name?: string | null, options?: import('./types').TerraformRenderOptions | null"
    )]
    pub fn to_terraform(
        &self,
        env: Env,
        name: Option<Unknown<'_>>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<String> {
        let js = |e: leastpriv::Error| to_js(&env, &e);
        let name: Option<String> = match name {
            Some(n) => arg(n, "name").map_err(js)?,
            None => None,
        };
        let mut t = TerraformOptions::default();
        for (k, v) in options(opts).map_err(js)?.as_object().into_iter().flatten() {
            match (k.as_str(), v.as_u64(), v.as_bool()) {
                ("provider" | "provider_major", Some(p), _) => {
                    t.provider_major = u32::try_from(p).unwrap_or(u32::MAX);
                }
                ("data_sources", _, Some(b)) => t.data_sources = b,
                _ => {
                    let m =
                        format!("`{k}`: expected provider (a number) or dataSources (true/false)");
                    return Err(js(
                        leastpriv::Error::new(leastpriv::ErrorKind::Usage, m).with_field(k)
                    ));
                }
            }
        }
        self.0.to_terraform(name.as_deref(), &t).map_err(js)
    }

    /// The whole result, the same in every language: `policies` (`name`, `principal`, IAM
    /// `documents`), `diagnostics`, `counts`, `malformed_at`, `statements`, `documents`.
    #[napi(getter, ts_return_type = "import('./types').PolicyResult")]
    pub fn result(&self) -> Value {
        self.0.to_value()
    }

    /// Every document (a policy larger than IAM's limit is split).
    #[napi(getter, ts_return_type = "Array<import('./types').PolicyDocument>")]
    pub fn documents(&self) -> Value {
        let v = self.0.to_value();
        let docs = v["policies"].as_array().into_iter().flatten();
        Value::Array(
            docs.flat_map(|p| p["documents"].as_array().cloned().unwrap_or_default())
                .collect(),
        )
    }

    /// The policies: one, or one per principal with `groupBy` (`name`, `principal`,
    /// `documents`).
    #[napi(getter, ts_return_type = "Array<import('./types').NamedPolicy>")]
    pub fn policies(&self) -> Value {
        self.0.to_value()["policies"].clone()
    }

    /// The diagnostics, in the core's shape.
    #[napi(getter, ts_return_type = "Array<import('./types').Diagnostic>")]
    pub fn diagnostics(&self) -> Value {
        self.0.to_value()["diagnostics"].clone()
    }

    /// The human-readable report (counts, then the diagnostics).
    #[napi]
    pub fn report(&self) -> String {
        self.0.report_text()
    }
}
