//! Reads μ/log events (a file named on the command line, or the sample shipped in `spec/`),
//! and prints the least-privilege policy as IAM JSON.
//!
//! ```sh
//! cargo run -p leastpriv --example policy_from_events -- spec/examples/orders.edn
//! ```

use leastpriv::{
    Observed, PolicyOptions, ReadOptions, Rules, build_policies, read_path_into, render_json,
};

fn main() -> Result<(), leastpriv::Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/examples/orders.edn").to_owned()
    });
    let rules = Rules::builtin();
    let mut seen = Observed::new();
    read_path_into(&rules, &mut seen, &path, &ReadOptions::default())?;
    let opts = PolicyOptions {
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
        ..PolicyOptions::default()
    };
    let set = build_policies(&seen, &opts)?;
    print!("{}", render_json(&set, false));
    for (d, stats) in &set.diagnostics {
        eprintln!(
            "{}: {} (first at {})",
            d.kind.name(),
            d.message,
            stats.first
        );
    }
    Ok(())
}
