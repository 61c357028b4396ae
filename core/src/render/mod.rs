//! Renderers: IAM JSON, Terraform HCL, raw permission lines and the diagnostics report.

mod json;
mod report;
mod terraform;

pub(crate) use json::document_value;
pub use json::{render_document_json, render_json, render_permission_lines};
pub use report::{printable, render_malformed_text, render_report_json, render_report_text};
pub use terraform::{TerraformOptions, render_terraform, render_variables};
