//! `leastpriv`: recorded AWS request events in, least-privilege IAM policy out.
//!
//! Exit codes: 0 ok, 1 input error or a `--fail-on` diagnostic, 2 usage error.

use clap::{Args, Parser, Subcommand, ValueEnum};
use leastpriv::{
    CallReader, DiagnosticKind, Error, ErrorKind, Evidence, Observed, Pipeline, PolicySet,
    Progress, ReadOptions, Rules, RulesBuilder, TerraformOptions, build_policies_on, open_input,
    printable, render_document_json, render_json, render_report_json, render_report_text,
    render_terraform,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[path = "record/endpoint.rs"]
mod record;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "leastpriv",
    version,
    about = "Turn recorded AWS request events into the least-privilege IAM policy they need",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the policy (IAM JSON or Terraform) for the events.
    Policy(PolicyArgs),
    /// Print the raw (action, resource) pairs, one JSON object per line, sorted and unique.
    Permissions(PermissionsArgs),
    /// Show, per event, where it was read, what it produced and why.
    Explain(ExplainArgs),
    /// Combine event files and serialized Observed states into one serialized state.
    Merge(MergeArgs),
    /// Check a declared policy (IAM JSON or Terraform) against what the calls needed: missing, unused,
    /// broader than used, undecidable. Exit 1 when something is missing (or a --fail-on kind).
    Check(CheckArgs),
    /// Print what the built-in rules cover.
    Rules,
    /// Print the generated catalog's sources and coverage, one line each.
    Catalog,
    /// A local recording endpoint: forwards every request unchanged to the upstream (LocalStack,
    /// moto) and records the call it made, decoded off the wire; point any SDK, the AWS CLI or
    /// Terraform at it with AWS_ENDPOINT_URL. Stops on SIGINT or SIGTERM, then writes the outputs.
    Record(RecordArgs),
}

#[derive(Args)]
struct RecordArgs {
    /// Where to listen (an address on this machine; port 0 picks a free one, printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4577")]
    listen: String,
    /// Where to forward (`http://127.0.0.1:4566`); with --proxy, optional (default: the hosts
    /// the clients ask for, over HTTPS).
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Be an HTTPS proxy too (HTTPS_PROXY=http://ADDR): CONNECT tunnels are answered and their
    /// TLS terminated with a local CA made at the start; its certificate is written to
    /// --ca-dir/ca.pem (point AWS_CA_BUNDLE at it). The CA's key never leaves the process.
    #[arg(long)]
    proxy: bool,
    /// Where --proxy writes the CA certificate.
    #[arg(long = "ca-dir", value_name = "DIR", default_value = "leastpriv-ca")]
    ca_dir: PathBuf,
    /// The calls, as JSON lines of the Call format (written as they come; complete at the stop).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
    /// The policy (IAM JSON), written at the stop.
    #[arg(long = "policy-out", value_name = "PATH")]
    policy_out: Option<PathBuf>,
    /// Your own rules (repeatable), as for `policy`.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// The configuration file, as for `policy`; `none` for none.
    #[arg(long, value_name = "PATH")]
    config: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args, Clone)]
struct InputArgs {
    /// Event files (`-` for standard input): μ/log EDN, μ/log JSON, JSON lines, CloudTrail
    /// (delivery files, gzipped or not, JSON lines of records, EventBridge events), or
    /// serialized Observed states.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Input format: auto (the default), mulog-edn, mulog-json, jsonl, cloudtrail, observed.
    #[arg(long = "input", value_name = "FORMAT")]
    input: Option<String>,
    /// The μ/log event name of AWS requests (default `aws/request`).
    #[arg(long, value_name = "NAME")]
    event_name: Option<String>,
    /// Skip malformed events (reported with their place) instead of stopping at the first.
    #[arg(long)]
    lenient: bool,
    /// Your own rules: a rules file or a directory of them (repeatable); they override the
    /// built-in rules operation by operation.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Group by principal: a μ/log event key such as `app-name`, or `principal` (JSON lines;
    /// CloudTrail: the role behind an assumed-role session, else the user's ARN).
    #[arg(long, value_name = "KEY")]
    group_by: Option<String>,
    /// CloudTrail: keep only the records of principals matching this ARN glob (IAM
    /// wildcards; repeatable), e.g. `arn:aws:iam::*:role/deploy-*`.
    #[arg(long = "principal", value_name = "ARN_GLOB")]
    principal: Vec<String>,
    /// CloudTrail: `only` keeps the read-only records (`readOnly: true`), `skip` the others
    /// (records that do not say are skipped then); default all.
    #[arg(long = "read-only", value_name = "WHICH")]
    read_only: Option<String>,
    /// The largest event read (a line, or an EDN form across lines): bytes, or with a K, M or
    /// G suffix. A longer event is an error (skipped with --lenient), found before it is
    /// parsed.
    #[arg(long = "max-event-size", value_name = "SIZE", value_parser = parse_size)]
    max_event_size: Option<usize>,
    /// The configuration file (default: the first `leastpriv.toml`, `[tool.leastpriv]` in
    /// `pyproject.toml` or `"leastpriv"` in `package.json` from here up to the repository
    /// root); `none` for none.
    #[arg(long, value_name = "PATH")]
    config: Option<String>,
    /// Threads reading at once (several files, and a large file in parts; `policy` and
    /// `permissions` also build their output on them); default: the available cores. The
    /// output is the same for any number.
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Print nothing on stderr but errors (no report, no progress bar).
    #[arg(short, long)]
    quiet: bool,
}

/// `123`, `64K`, `16M`, `1G` (binary units).
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, shift) = match s.trim().char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 10),
        Some((i, 'M' | 'm')) => (&s[..i], 20),
        Some((i, 'G' | 'g')) => (&s[..i], 30),
        _ => (s.trim(), 0),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size (bytes, or with a K, M or G suffix)"))?;
    n.checked_shl(shift)
        .filter(|v| *v >> shift == n && *v > 0)
        .ok_or_else(|| format!("`{s}` is not a usable size"))
}

#[derive(Args, Clone)]
struct TargetArgs {
    /// Region for resources whose region the events do not tell.
    #[arg(long)]
    region: Option<String>,
    /// Account for resources whose account the events do not tell.
    #[arg(long)]
    account: Option<String>,
    /// Partition (default: from the region).
    #[arg(long)]
    partition: Option<String>,
    /// Rewrite an account id the tests ran against (FROM=TO, repeatable).
    #[arg(long = "map-account", value_name = "FROM=TO")]
    map_account: Vec<String>,
    /// Rewrite a region (FROM=TO, repeatable).
    #[arg(long = "map-region", value_name = "FROM=TO")]
    map_region: Vec<String>,
    /// Which calls count: all (the default: a call that failed still needed its
    /// permission), or ok.
    #[arg(long, value_parser = ["ok", "all"])]
    outcome: Option<String>,
    /// Leave out actions matching a glob (repeatable), e.g. `sts:*`.
    #[arg(long, value_name = "ACTION_GLOB")]
    exclude: Vec<String>,
    /// The environment the policy is for: its `[env.NAME]` settings in the configuration, and
    /// `<env>` in rewrite templates.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum OutFormat {
    Json,
    Terraform,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    /// An operation or service no rule knows (or a state's action no rule emits).
    Unmapped,
    /// A resource the request did not determine, written as `*`.
    Wildcard,
    /// A document over IAM's size limit.
    Oversize,
    /// More managed policies than IAM attaches to one role by default.
    Quota,
    /// A resource name that looks made for a test run, with no rewrite rule for it.
    RandomName,
    /// A rewrite rule that matched nothing.
    StaleRewrite,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Emit {
    /// `variables.tf` beside the Terraform output, declaring the `var.*` the rewrite rules
    /// reference.
    Variables,
}

#[derive(Args)]
struct PolicyArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Output format (default: terraform for an output ending in `.tf`, else json).
    #[arg(long, value_enum)]
    format: Option<OutFormat>,
    /// Policy name (file names and Terraform block names; default `leastpriv`).
    #[arg(long)]
    name: Option<String>,
    /// S3 object keys: exact, prefix (the default: common prefix per bucket and action), or
    /// bucket.
    #[arg(long = "s3-objects", value_parser = ["exact", "prefix", "bucket"])]
    s3_objects: Option<String>,
    /// Exit 1 when a diagnostic of this kind occurred (repeatable).
    #[arg(long = "fail-on", value_enum)]
    fail_on: Vec<FailOn>,
    /// Write the diagnostics report as JSON to FILE (the text report goes to stderr).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Output file, or a directory (existing, or ending in `/`) for one file per document.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
    /// Major version of the Terraform AWS provider (default 6; 5 writes
    /// `data.aws_region.current.name`).
    #[arg(long = "terraform-provider", value_parser = clap::value_parser!(u32).range(4..))]
    terraform_provider: Option<u32>,
    /// Also write `variables` (a `variables.tf` beside the Terraform output for the `var.*`
    /// the rewrite rules reference).
    #[arg(long, value_enum)]
    emit: Vec<Emit>,
    /// Do not declare the aws_partition / aws_region / aws_caller_identity data sources.
    #[arg(long = "no-data-sources")]
    no_data_sources: bool,
}

#[derive(Args)]
struct PermissionsArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Output file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum CheckFailOn {
    Unused,
    Broad,
    Undecidable,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// The declared policy: IAM JSON files (a document, a list of documents, or an object of
    /// them) or Terraform files (`.tf`: aws_iam_policy_document blocks, aws_iam_*policy
    /// resources); repeatable. Default: `check.policy` of the configuration.
    #[arg(long = "policy", value_name = "PATH")]
    policy: Vec<PathBuf>,
    /// Output: text (default), json, sarif (2.1.0), github (workflow annotations).
    #[arg(long, value_enum)]
    format: Option<CheckFormat>,
    /// Also exit 1 on findings of this kind (repeatable); missing always does.
    #[arg(long = "fail-on", value_enum)]
    fail_on: Vec<CheckFailOn>,
    /// S3 object keys as `policy` writes them (for "broader than used").
    #[arg(long = "s3-objects", value_parser = ["exact", "prefix", "bucket"])]
    s3_objects: Option<String>,
    /// Write the findings to PATH (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
    /// A Terraform variable or reference the policy uses: `NAME=VALUE` (`var.NAME`), or
    /// `aws_s3_bucket.orders.arn=arn:aws:s3:::orders` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A `.tfvars` (or `.tfvars.json`) file of variables (repeatable).
    #[arg(long = "tfvars", value_name = "FILE")]
    tfvars: Vec<PathBuf>,
}

#[derive(Args)]
struct MergeArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output file for the serialized state (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = if e.kind() == ErrorKind::Usage { 2 } else { 1 };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: msg.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy(a) => cmd_policy(a),
        Command::Permissions(a) => cmd_permissions(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Merge(a) => cmd_merge(a),
        Command::Check(a) => cmd_check(a),
        Command::Rules => cmd_rules(),
        Command::Catalog => cmd_catalog(),
        Command::Record(a) => cmd_record(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("leastpriv: error: {}", printable(&f.message));
            ExitCode::from(f.code)
        }
    }
}

fn load_rules(paths: &[PathBuf]) -> Result<Arc<Rules>, Failure> {
    if paths.is_empty() {
        return Ok(Rules::builtin());
    }
    let mut b = RulesBuilder::new();
    for p in paths {
        b.add_path(p)?;
    }
    Ok(Arc::new(b.build()?))
}

/// The options given on the command line, as a layer over the environment variables and the
/// configuration file.
fn cli_layer(
    input: &InputArgs,
    target: Option<&TargetArgs>,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{Value, json};
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    if let Some(f) = &input.input {
        put("format", json!(f));
    }
    if let Some(e) = &input.event_name {
        put("event_name", json!(e));
    }
    if input.lenient {
        put("lenient", json!(true));
    }
    if !input.rules.is_empty() {
        put(
            "rules",
            json!(
                input
                    .rules
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
            ),
        );
    }
    if let Some(g) = &input.group_by {
        put("group_by", json!(g));
    }
    if !input.principal.is_empty() {
        put("principal", json!(input.principal));
    }
    if let Some(r) = &input.read_only {
        put("read_only", json!(r));
    }
    if let Some(n) = input.max_event_size {
        put("max_event_size", json!(n));
    }
    if let Some(c) = &input.config {
        put("config", json!(c));
    }
    if let Some(t) = target {
        target_layer(&mut m, t);
    }
    m
}

/// The command line's policy target options into a settings layer.
fn target_layer(m: &mut serde_json::Map<String, serde_json::Value>, t: &TargetArgs) {
    use serde_json::{Value, json};
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    {
        for (k, v) in [
            ("region", &t.region),
            ("account", &t.account),
            ("partition", &t.partition),
            ("outcome", &t.outcome),
            ("env", &t.env),
        ] {
            if let Some(v) = v {
                put(k, json!(v));
            }
        }
        if !t.map_account.is_empty() {
            put("map_account", json!(t.map_account));
        }
        if !t.map_region.is_empty() {
            put("map_region", json!(t.map_region));
        }
        if !t.exclude.is_empty() {
            put("exclude", json!(t.exclude));
        }
    }
}

/// The settings of the run: the command line over the environment variables over the
/// configuration file.
fn settings(
    cli: serde_json::Map<String, serde_json::Value>,
) -> Result<leastpriv::Settings, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Failure {
        code: 1,
        message: format!("the working directory: {e}"),
    })?;
    let layers = leastpriv::Layers {
        cli,
        env_vars: std::env::vars().collect(),
        runner: serde_json::Map::new(),
    };
    leastpriv::resolve_settings(&cwd, &layers).map_err(|e| {
        // A mistake in an option given on the command line names its flag.
        match e.field() {
            Some(f)
                if matches!(e.kind(), ErrorKind::Usage | ErrorKind::UnknownFormat)
                    && !e.message().contains(": ") =>
            {
                usage(format!("--{}: {}", f.replace('_', "-"), e.message()))
            }
            _ if e.kind() == ErrorKind::UnknownFormat => usage(e.to_string()),
            _ => Failure::from(e),
        }
    })
}

/// `--jobs`, or the cores available.
fn jobs_of(input: &InputArgs) -> usize {
    match input.jobs {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn read_all(
    input: &InputArgs,
    opts: &ReadOptions,
    rules: &Arc<Rules>,
) -> Result<Observed, Failure> {
    let mut seen = merged(read_parts(input, opts, rules)?);
    // Nothing more is counted: the output is built from what was.
    seen.release_lookups();
    Ok(seen)
}

/// The jobs' states merged into one.
fn merged(parts: Vec<Observed>) -> Observed {
    let mut parts = parts.into_iter();
    let mut seen = parts.next().unwrap_or_default();
    for part in parts {
        seen.absorb(part);
    }
    seen
}

/// What the inputs came to, in the states the jobs read them into (merged, what [`read_all`]
/// gives).
fn read_parts(
    input: &InputArgs,
    opts: &ReadOptions,
    rules: &Arc<Rules>,
) -> Result<Vec<Observed>, Failure> {
    let opts = opts.clone();
    if input.files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(usage("standard input (`-`) can be read only once"));
    }
    let jobs = jobs_of(input);
    let mut pipeline = Pipeline::new(Arc::clone(rules), opts);
    let bar = (!input.quiet && std::io::stderr().is_terminal()).then(|| {
        let progress = Arc::new(Progress::default());
        pipeline.set_progress(Arc::clone(&progress));
        ProgressBar::start(progress, &input.files)
    });
    let result = pipeline.read_paths_into_parts(&input.files, jobs);
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(result?)
}

/// A progress bar on stderr while inputs are read: bytes read of the files' total, and
/// events per second.
struct ProgressBar {
    done: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressBar {
    fn start(progress: Arc<Progress>, files: &[String]) -> ProgressBar {
        use std::sync::atomic::{AtomicBool, Ordering};
        let total: u64 = files
            .iter()
            .filter(|f| *f != "-")
            .filter_map(|f| std::fs::metadata(f).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        let done = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {msg} {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            // Nothing shows for runs that end in a moment.
            let mut shown = false;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let elapsed = started.elapsed().as_secs_f64();
                if !shown && elapsed < 1.0 {
                    continue;
                }
                shown = true;
                bar.set_position(progress.bytes());
                let rate = progress.events() as f64 / elapsed.max(0.001);
                bar.set_message(format!("{rate:.0} events/s"));
            }
            bar.finish_and_clear();
        });
        ProgressBar {
            done,
            thread: Some(thread),
        }
    }

    fn finish(mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes files all or nothing, never replacing what is not a regular file (devices, FIFOs
/// and `/dev/stdout` are written directly, symbolic links followed): see
/// [`leastpriv::write_files`].
fn write_atomically(files: &[(PathBuf, String)]) -> Result<(), Failure> {
    let files: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|(p, t)| (p.clone(), t.clone().into_bytes()))
        .collect();
    leastpriv::write_files(&files).map_err(Failure::from)
}

fn emit(output: Option<&Path>, text: &str) -> Result<(), Failure> {
    match output {
        Some(p) => write_atomically(&[(p.to_path_buf(), text.to_owned())]),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| Failure {
                    code: 1,
                    message: format!("standard output: {e}"),
                })
        }
    }
}

fn is_dir_target(p: &Path) -> bool {
    p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/')
}

/// A principal as a file name, reversibly: bytes other than ASCII letters, digits, `-` and
/// `_` (and a `.` that would start the name) become `%XX`, after an `of-` that a policy
/// name (`--name`) never starts with. A name that would pass 200 bytes keeps its first 160
/// and a hash of the whole: file systems take 255; `index.json` maps every file back to its
/// principal.
fn principal_file_stem(principal: &str) -> String {
    let mut out = String::from("of-");
    for b in principal.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && out.len() > 3) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 200 {
        let mut cut = 160;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        let hash = principal.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        out = format!("{}~{hash:016x}", &out[..cut]);
    }
    out
}

fn cmd_policy(a: PolicyArgs) -> Result<u8, Failure> {
    use serde_json::json;
    let mut cli = cli_layer(&a.input, Some(&a.target));
    if let Some(n) = &a.name {
        cli.insert("name".into(), json!(n));
    }
    if let Some(o) = &a.s3_objects {
        cli.insert("s3_objects".into(), json!(o));
    }
    if let Some(o) = &a.output {
        cli.insert("out".into(), json!(o.display().to_string()));
    }
    if let Some(f) = a.format {
        cli.insert(
            "out_format".into(),
            json!(match f {
                OutFormat::Json => "json",
                OutFormat::Terraform => "terraform",
            }),
        );
    }
    if let Some(v) = a.terraform_provider {
        cli.insert("terraform_provider".into(), json!(v));
    }
    if !a.emit.is_empty() {
        cli.insert("emit".into(), json!(["variables"]));
    }
    if !a.fail_on.is_empty() {
        cli.insert(
            "fail_on".into(),
            json!(
                a.fail_on
                    .iter()
                    .map(|f| fail_on_name(*f))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let settings = settings(cli)?;
    let format = match settings.to_json()["out_format"].as_str() {
        Some("terraform") => OutFormat::Terraform,
        _ => OutFormat::Json,
    };
    let output = settings.out.clone();
    let rules = load_rules(&settings.rules)?;
    let mut opts = settings.run.policy.clone();
    opts.target = match format {
        OutFormat::Json => leastpriv::Target::Json,
        OutFormat::Terraform => leastpriv::Target::Terraform,
    };
    let name = opts.name.clone();
    // `emit` from a configuration applies to Terraform written to a file; asked for on the
    // command line for anything else, it is a mistake.
    let emit_variables =
        !settings.emit.is_empty() && format == OutFormat::Terraform && output.is_some();
    if !a.emit.is_empty() && !emit_variables {
        return Err(usage(
            "--emit variables: it writes variables.tf beside a Terraform output file (--format terraform -o PATH)",
        ));
    }
    let seen = read_all(&a.input, &settings.run.read, &rules)?;
    let set = build_policies_on(&seen, &opts, jobs_of(&a.input))?;
    let tf = TerraformOptions {
        provider_major: settings.terraform_provider.unwrap_or(6),
        data_sources: !a.no_data_sources,
    };
    let malformed: Vec<Evidence> = seen.malformed_at().cloned().collect();
    // Every file of the run (documents and the JSON report) is written in one atomic batch:
    // nothing lands unless everything does.
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if let Some(path) = &a.report {
        files.push((
            path.clone(),
            render_report_json(&set, &seen.counts(), &malformed),
        ));
    }
    if emit_variables && let Some(out) = &output {
        let dir = if is_dir_target(out) {
            out.clone()
        } else {
            out.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        files.push((
            dir.join("variables.tf"),
            leastpriv::render_variables(&opts.rewrite),
        ));
    }
    let stdout_text = match (&output, format) {
        (Some(dir), fmt) if is_dir_target(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Failure {
                code: 1,
                message: format!("{}: {e}", dir.display()),
            })?;
            match fmt {
                OutFormat::Json => {
                    let mut index = std::collections::BTreeMap::new();
                    for p in &set.policies {
                        let stem = match &p.principal {
                            Some(pr) if opts.group_by => principal_file_stem(pr),
                            _ => name.clone(),
                        };
                        for (i, d) in p.documents.iter().enumerate() {
                            let name = if i == 0 {
                                format!("{stem}.json")
                            } else {
                                format!("{stem}-{}.json", i + 1)
                            };
                            index.insert(
                                name.clone(),
                                serde_json::json!({"principal": p.principal, "document": i + 1}),
                            );
                            files.push((dir.join(name), render_document_json(d)));
                        }
                    }
                    if opts.group_by {
                        let mut text = serde_json::to_string_pretty(&index).unwrap_or_default();
                        text.push('\n');
                        files.push((dir.join("index.json"), text));
                    }
                }
                OutFormat::Terraform => {
                    files.push((dir.join(format!("{name}.tf")), render_terraform(&set, &tf)));
                }
            }
            None
        }
        (out, fmt) => {
            let text = match fmt {
                OutFormat::Json => render_json(&set, opts.group_by),
                OutFormat::Terraform => render_terraform(&set, &tf),
            };
            match out {
                Some(path) => {
                    files.push((path.clone(), text));
                    None
                }
                None => Some(text),
            }
        }
    };
    // The output's directory is made when missing (`-o iam/policy.tf` in a new project).
    for (path, _) in &files {
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir).map_err(|e| Failure {
                code: 1,
                message: format!("{}: {e}", dir.display()),
            })?;
        }
    }
    write_atomically(&files)?;
    if let Some(text) = stdout_text {
        emit(None, &text)?;
    }
    finish_report(a.input.quiet, &settings.fail_on, &set, &seen, &malformed)
}

fn fail_on_name(f: FailOn) -> &'static str {
    match f {
        FailOn::Unmapped => "unmapped",
        FailOn::Wildcard => "wildcard",
        FailOn::Oversize => "oversize",
        FailOn::Quota => "quota",
        FailOn::RandomName => "random_name",
        FailOn::StaleRewrite => "stale_rewrite",
    }
}

fn finish_report(
    quiet: bool,
    fail_on: &[String],
    set: &PolicySet,
    seen: &Observed,
    malformed: &[Evidence],
) -> Result<u8, Failure> {
    if !quiet {
        eprint!("{}", render_report_text(set, &seen.counts(), malformed));
    }
    let hit = fail_on.iter().any(|f| {
        set.diagnostics.iter().any(|(d, _)| match f.as_str() {
            "unmapped" => matches!(
                d.kind,
                DiagnosticKind::UnmappedOperation | DiagnosticKind::UnknownService
            ),
            other => d.kind.name() == other,
        })
    });
    Ok(if hit { 1 } else { 0 })
}

fn cmd_permissions(a: PermissionsArgs) -> Result<u8, Failure> {
    let settings = settings(cli_layer(&a.input, Some(&a.target)))?;
    let rules = load_rules(&settings.rules)?;
    let opts = leastpriv::PolicyOptions {
        group_by: false,
        ..settings.run.policy.clone()
    };
    // The lines are made from the jobs' states as they are (the lines of their merge).
    let mut parts = read_parts(&a.input, &settings.run.read, &rules)?;
    if parts.iter().any(|p| p.counts().malformed > 0) {
        // Where malformed events were skipped is told of the merged state.
        let seen = merged(parts);
        report_malformed(&seen, a.input.quiet);
        parts = vec![seen];
    }
    for part in &mut parts {
        part.release_lookups();
    }
    let failed = |e: std::io::Error| Failure {
        code: 1,
        message: format!("standard output: {e}"),
    };
    let jobs = jobs_of(&a.input);
    match &a.output {
        None => {
            let mut out = std::io::stdout().lock();
            leastpriv::write_permission_lines_of(&parts, &opts, &mut out, jobs).map_err(failed)?;
        }
        Some(path) => {
            // Streamed to a temporary file renamed over the target at the end (the lines are
            // not held in memory: 80-odd bytes a permission, a quarter of the bound).
            let mut file = leastpriv::StreamedFile::create(path)?;
            leastpriv::write_permission_lines_of(&parts, &opts, &mut file, jobs).map_err(|e| {
                Failure {
                    code: 1,
                    message: leastpriv::printable(&format!("{}: {e}", path.display())).into_owned(),
                }
            })?;
            file.finish()?;
        }
    }
    Ok(0)
}

/// With `--lenient`, says on stderr how many malformed events were skipped, and where.
fn report_malformed(seen: &Observed, quiet: bool) {
    let counts = seen.counts();
    if counts.malformed > 0 && !quiet {
        let at: Vec<Evidence> = seen.malformed_at().cloned().collect();
        eprint!(
            "leastpriv: {} malformed event(s) skipped\n{}",
            counts.malformed,
            leastpriv::render_malformed_text(&counts, &at)
        );
    }
}

fn cmd_record(a: RecordArgs) -> Result<u8, Failure> {
    use serde_json::json;
    let mut cli = serde_json::Map::new();
    target_layer(&mut cli, &a.target);
    if !a.rules.is_empty() {
        cli.insert(
            "rules".into(),
            json!(
                a.rules
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
            ),
        );
    }
    if let Some(c) = &a.config {
        cli.insert("config".into(), json!(c));
    }
    let settings = settings(cli)?;
    let rules = load_rules(&settings.rules)?;
    let listen: std::net::SocketAddr = a
        .listen
        .parse()
        .map_err(|_| usage("--listen: an address such as 127.0.0.1:4577"))?;
    let upstream: Option<hyper::Uri> = match &a.upstream {
        None if a.proxy => None,
        None => return Err(usage("--upstream URL is needed (unless --proxy)")),
        Some(u) => Some(
            u.parse()
                .ok()
                .filter(|u: &hyper::Uri| u.scheme_str() == Some("http") && u.authority().is_some())
                .ok_or_else(|| usage("--upstream: an http:// URL such as http://127.0.0.1:4566"))?,
        ),
    };
    let ca = if a.proxy {
        let (ca, path) = record::Ca::create(&a.ca_dir).map_err(|e| Failure {
            code: 1,
            message: format!("{}: {e}", a.ca_dir.display()),
        })?;
        eprintln!(
            "leastpriv record: proxy CA certificate at {} (AWS_CA_BUNDLE)",
            path.display()
        );
        Some(ca)
    } else {
        None
    };
    let calls = match &a.output {
        None => None,
        Some(p) => Some(leastpriv::StreamedFile::create(p)?),
    };
    let recording = record::Recording {
        pipeline: leastpriv::Pipeline::new(rules, settings.run.read.clone()),
        calls,
        decoded: 0,
        undecoded: 0,
        unsigned: 0,
        notes: Default::default(),
    };
    let rec = record::run(listen, upstream, ca, recording).map_err(|e| Failure {
        code: 1,
        message: format!("record: {e}"),
    })?;
    if let Some(f) = rec.calls {
        f.finish()?;
    }
    eprintln!(
        "leastpriv record: {} call(s) recorded, {} unsigned request(s) (needing no permission) not counted, {} request(s) not decoded",
        rec.decoded, rec.unsigned, rec.undecoded
    );
    for (note, n) in &rec.notes {
        eprintln!("  {n} x {}", leastpriv::printable(note));
    }
    if let Some(p) = &a.policy_out {
        let set = leastpriv::build_policies(rec.pipeline.observed(), &settings.run.policy)?;
        emit(
            Some(p),
            &leastpriv::render_json(&set, settings.run.policy.group_by),
        )?;
    }
    Ok(0)
}

fn cmd_merge(a: MergeArgs) -> Result<u8, Failure> {
    let settings = settings(cli_layer(&a.input, None))?;
    let rules = load_rules(&settings.rules)?;
    let seen = read_all(&a.input, &settings.run.read, &rules)?;
    let bytes = seen.to_bytes();
    report_malformed(&seen, a.input.quiet);
    drop(seen);
    emit(a.output.as_deref(), &String::from_utf8_lossy(&bytes))?;
    Ok(0)
}

fn cmd_check(a: CheckArgs) -> Result<u8, Failure> {
    use leastpriv::FindingKind;
    let mut cli = cli_layer(&a.input, Some(&a.target));
    if let Some(o) = &a.s3_objects {
        cli.insert("s3_objects".into(), serde_json::json!(o));
    }
    let settings = settings(cli)?;
    let check = &settings.check;
    let policy_paths: Vec<PathBuf> = if a.policy.is_empty() {
        check.policy.clone()
    } else {
        a.policy.clone()
    };
    if policy_paths.is_empty() {
        return Err(usage(
            "check needs the declared policy: --policy PATH (or `check.policy` in the configuration)",
        ));
    }
    let fail: Vec<FindingKind> = if a.fail_on.is_empty() {
        check
            .fail_on
            .iter()
            .filter_map(|f| FindingKind::from_name(f))
            .collect()
    } else {
        a.fail_on
            .iter()
            .map(|f| match f {
                CheckFailOn::Unused => FindingKind::Unused,
                CheckFailOn::Broad => FindingKind::Broad,
                CheckFailOn::Undecidable => FindingKind::Undecidable,
            })
            .collect()
    };
    let mut ctx = leastpriv::TfContext {
        account: settings.run.policy.account.clone(),
        region: settings.run.policy.region.clone(),
        partition: settings.run.policy.partition.clone(),
        ..leastpriv::TfContext::default()
    };
    // The configuration's check.tfvars, then its check.vars; the command line's over them.
    for f in &check.tfvars {
        ctx.add_tfvars(f)?;
    }
    ctx.vars.extend(check.vars.clone());
    for f in &a.tfvars {
        ctx.add_tfvars(f)?;
    }
    for v in &a.vars {
        match v.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => {
                ctx.vars.insert(k.trim().to_owned(), val.to_owned());
            }
            _ => return Err(usage("--var: expected NAME=VALUE")),
        }
    }
    let declared = leastpriv::Declared::from_paths(&policy_paths, &ctx)?;
    let rules = load_rules(&settings.rules)?;
    let seen = read_all(&a.input, &settings.run.read, &rules)?;
    let result = leastpriv::check(&declared, &seen, &settings.run.policy)?;
    let files: Vec<String> = policy_paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let text = match a.format.unwrap_or(CheckFormat::Text) {
        CheckFormat::Text => leastpriv::render_check_text(&result),
        CheckFormat::Json => {
            let mut t =
                serde_json::to_string_pretty(&leastpriv::check_value(&result)).unwrap_or_default();
            t.push('\n');
            t
        }
        CheckFormat::Sarif => leastpriv::render_check_sarif(&result, &files, &fail),
        CheckFormat::Github => leastpriv::render_check_github(&result, &files, &fail),
    };
    emit(a.output.as_deref(), &text)?;
    let failing =
        result.count(FindingKind::Missing) > 0 || fail.iter().any(|k| result.count(*k) > 0);
    Ok(u8::from(failing))
}

fn cmd_rules() -> Result<u8, Failure> {
    Rules::check_builtin()?;
    let rules = Rules::builtin();
    let (apis, ops) = rules.counts();
    let mut out = format!("{apis} services known by name; {ops} operations with a curated rule\n");
    let mut per: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (api, _) in rules.operations() {
        *per.entry(api).or_default() += 1;
    }
    for (api, n) in per {
        out.push_str(&format!("  {api}: {n} operations\n"));
    }
    emit(None, &out)?;
    Ok(0)
}

fn cmd_catalog() -> Result<u8, Failure> {
    Rules::check_builtin()?;
    let rules = Rules::builtin();
    let Some(info) = rules.catalog_info() else {
        emit(None, "no generated catalog\n")?;
        return Ok(0);
    };
    let pct = |a: u64, b: u64| {
        if b == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.1}%", 100.0 * a as f64 / b as f64)
        }
    };
    let c = |n: &str| info.count(n);
    let ops = c("operations");
    let mapped = c("curated") + c("by_name") + c("by_rule") + c("permissionless");
    let mut out = String::new();
    for (k, v) in &info.source {
        out.push_str(&format!("source {k}: {v}\n"));
    }
    out.push_str(&format!("services: {}\n", c("services")));
    out.push_str(&format!("operations: {ops}\n"));
    out.push_str(&format!(
        "mapped by curated rule: {} ({})\n",
        c("curated"),
        pct(c("curated"), ops)
    ));
    out.push_str(&format!(
        "mapped by name: {} ({}; {} of them by a name that differs only in case)\n",
        c("by_name"),
        pct(c("by_name"), ops),
        c("by_case")
    ));
    out.push_str(&format!(
        "mapped by generated rule: {} ({}; {} by a documented rename, the rest by group rules)\n",
        c("by_rule"),
        pct(c("by_rule"), ops),
        c("by_rename")
    ));
    out.push_str(&format!(
        "mapped as permissionless: {} ({}; unsigned in the model, or authorized by a bearer token)\n",
        c("permissionless"),
        pct(c("permissionless"), ops)
    ));
    out.push_str(&format!("mapped in all: {mapped} ({})\n", pct(mapped, ops)));
    out.push_str(&format!(
        "unmatched: {} ({})\n",
        c("unmatched"),
        pct(c("unmatched"), ops)
    ));
    out.push_str(&format!(
        "resource-level binding: {} of {} mapped by name to an action with resource types ({})\n",
        c("resource_level"),
        c("with_resource_types"),
        pct(c("resource_level"), c("with_resource_types"))
    ));
    out.push_str(&format!(
        "operations with dependent actions (granted on evidence in the request, or named): {}\n",
        c("with_dependent")
    ));
    emit(None, &out)?;
    Ok(0)
}

fn cmd_explain(a: ExplainArgs) -> Result<u8, Failure> {
    let settings = settings(cli_layer(&a.input, Some(&a.target)))?;
    let rules = load_rules(&settings.rules)?;
    let opts = settings.run.policy.clone();
    let read = settings.run.read.clone();
    let mut out = String::new();
    let mut failure = None;
    for f in &a.input.files {
        let result = (|| -> Result<(), Error> {
            let reader = open_input(f)?;
            let mut calls = CallReader::new(reader, f, &read)?;
            for item in calls.by_ref() {
                let call = match item {
                    Ok(c) => c,
                    Err(e) if read.lenient => {
                        out.push_str(&format!("skipped: {}\n", printable(&e.to_string())));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let where_ = format!(
                    "{}:{}",
                    call.source.label.as_deref().unwrap_or(f),
                    call.source.line.unwrap_or(0)
                );
                let outcome = match &call.outcome {
                    leastpriv::Outcome::Ok => "ok".to_owned(),
                    leastpriv::Outcome::Error { code: Some(c) } => format!("error {c}"),
                    leastpriv::Outcome::Error { code: None } => "error".to_owned(),
                };
                let prefix = rules.prefix_of(&call.service).unwrap_or("?");
                out.push_str(&format!(
                    "{}: {} {} [{}] ({})\n",
                    printable(&where_),
                    printable(&call.service),
                    printable(&call.operation),
                    printable(prefix),
                    printable(&outcome)
                ));
                let d = leastpriv::derive(&rules, &call);
                for p in &d.permissions {
                    let r = opts.resolve(&p.resource).to_iam();
                    match &p.condition {
                        None => out.push_str(&format!(
                            "  {}  {}\n",
                            printable(&p.action),
                            printable(&r)
                        )),
                        Some(c) => out.push_str(&format!(
                            "  {}  {}  when {}\n",
                            printable(&p.action),
                            printable(&r),
                            printable(&serde_json::to_string(c).unwrap_or_default())
                        )),
                    }
                }
                if d.permissions.is_empty() && d.diagnostics.is_empty() {
                    out.push_str("  (no permission)\n");
                }
                for diag in &d.diagnostics {
                    out.push_str(&format!(
                        "  {}: {}\n",
                        diag.kind.name(),
                        printable(&diag.message)
                    ));
                }
            }
            if calls.skipped() > 0 {
                out.push_str(&format!(
                    "{}: {} event(s) with other event names skipped\n",
                    printable(f),
                    calls.skipped()
                ));
            }
            Ok(())
        })();
        if let Err(e) = result {
            failure = Some(e);
            break;
        }
    }
    emit(None, &out)?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}
