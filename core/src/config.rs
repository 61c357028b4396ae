//! One configuration for the CLI, the pytest plugin and the jest helpers: where it is found,
//! what it holds (the schema is `spec/schema/config.schema.json`), and how the layers above it
//! (the test runner's settings, environment variables, command-line options) override it.
//!
//! The file is the first found walking up from the working directory to the repository root
//! (the directory holding `.git`; the filesystem root outside a repository): `leastpriv.toml`,
//! a `[tool.leastpriv]` table in `pyproject.toml`, or a `"leastpriv"` key in `package.json`. Two
//! of them in one directory is an error naming both.
//!
//! Precedence, highest first: command-line options, environment variables (`LEASTPRIV_*`),
//! the test runner's settings (pytest ini keys, jest `globals.leastpriv`), the configuration
//! file (its `[env.NAME]` table over its top level, for the environment chosen).

use crate::error::{Error, ErrorKind, Result};
use crate::options::RunOptions;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

fn usage(field: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message).with_field(field)
}

/// The options a run takes (as `RunOptions::from_json` reads them).
const RUN_KEYS: &[&str] = &[
    "format",
    "event_name",
    "lenient",
    "max_event_size",
    "principal",
    "read_only",
    "group_by",
    "name",
    "region",
    "account",
    "partition",
    "map_account",
    "map_region",
    "outcome",
    "exclude",
    "s3_objects",
    "max_size",
    "rewrite",
    "env",
    "values",
];

/// Keys of the configuration beyond the run options.
const OTHER_KEYS: &[&str] = &[
    "out",
    "out_format",
    "rules",
    "emit",
    "terraform_provider",
    "fail_on",
    "check",
];

/// Keys an `[env.NAME]` table may set.
const ENV_KEYS: &[&str] = &[
    "region",
    "account",
    "partition",
    "map_account",
    "map_region",
    "values",
    "out",
    "exclude",
];

/// Environment variables and the option each sets (lists are comma-separated).
const ENV_VARS: &[(&str, &str, bool)] = &[
    ("LEASTPRIV_ENV", "env", false),
    ("LEASTPRIV_REGION", "region", false),
    ("LEASTPRIV_ACCOUNT", "account", false),
    ("LEASTPRIV_PARTITION", "partition", false),
    ("LEASTPRIV_MAP_ACCOUNT", "map_account", true),
    ("LEASTPRIV_MAP_REGION", "map_region", true),
    ("LEASTPRIV_EXCLUDE", "exclude", true),
    ("LEASTPRIV_S3_OBJECTS", "s3_objects", false),
    ("LEASTPRIV_OUTCOME", "outcome", false),
    ("LEASTPRIV_GROUP_BY", "group_by", false),
    ("LEASTPRIV_NAME", "name", false),
    ("LEASTPRIV_OUT", "out", false),
    ("LEASTPRIV_OUT_FORMAT", "out_format", false),
    // The name the jest helpers and the pytest plugin have read since their first release.
    ("LEASTPRIV_FORMAT", "out_format", false),
    ("LEASTPRIV_RULES", "rules", true),
];

/// Where a configuration was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `leastpriv.toml` (or another TOML file named explicitly).
    Toml,
    /// The `[tool.leastpriv]` table of `pyproject.toml`.
    Pyproject,
    /// The `"leastpriv"` key of `package.json` (or a JSON file named explicitly).
    PackageJson,
}

/// A configuration file, read and checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file.
    pub path: PathBuf,
    /// What kind of file.
    pub kind: ConfigKind,
    /// The top level (paths made absolute against the file's directory).
    top: Map<String, Value>,
    /// The environments (`[env.NAME]`), each checked the same way.
    envs: Map<String, Value>,
}

fn shown(p: &Path) -> String {
    crate::render::printable(&p.display().to_string()).into_owned()
}

/// Reads the configuration in `path`: TOML (`leastpriv.toml`, or `pyproject.toml`'s
/// `[tool.leastpriv]`) or JSON (`package.json`'s `"leastpriv"` key, or a JSON file of the
/// options).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("lp-config-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("leastpriv.toml"), "region = \"eu-west-1\"\n[[rewrite]]\nmatch = \"orders-*\"\nname = \"orders-<env>\"\n").unwrap();
/// let c = leastpriv::Config::load(&dir.join("leastpriv.toml")).unwrap();
/// let v = c.layer(Some("prod")).unwrap();
/// assert_eq!(v["region"], "eu-west-1");
/// assert_eq!(v["env"], "prod");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
impl Config {
    /// Reads and checks one file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", shown(path))))?;
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_json = path.extension().is_some_and(|x| x == "json");
        let (kind, table) = if is_json {
            let v: Value = crate::read::json::parse(&text).map_err(|e| {
                let (line, col) = crate::read::line_col(&text, e.offset);
                Error::new(
                    ErrorKind::Usage,
                    format!("{}:{line}:{col}: {}", shown(path), e.message),
                )
            })?;
            if file_name == "package.json" {
                match v.get("leastpriv") {
                    Some(t) => (ConfigKind::PackageJson, t.clone()),
                    None => {
                        return Err(usage(
                            "leastpriv",
                            format!("{}: no \"leastpriv\" key", shown(path)),
                        ));
                    }
                }
            } else {
                (ConfigKind::PackageJson, v)
            }
        } else {
            let doc = parse_toml(&text, path)?;
            if file_name == "pyproject.toml" {
                match doc.get("tool").and_then(|t| t.get("leastpriv")) {
                    Some(t) => (ConfigKind::Pyproject, t.clone()),
                    None => {
                        return Err(usage(
                            "tool.leastpriv",
                            format!("{}: no [tool.leastpriv] table", shown(path)),
                        ));
                    }
                }
            } else {
                (ConfigKind::Toml, doc)
            }
        };
        let Value::Object(mut top) = table else {
            return Err(usage(
                "leastpriv",
                format!("{}: the configuration must be a table", shown(path)),
            ));
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let envs = match top.remove("env") {
            None => Map::new(),
            Some(Value::Object(envs)) => envs,
            Some(_) => {
                return Err(in_file(
                    path,
                    usage("env", "`env` is a table of environments (`[env.prod]`)"),
                ));
            }
        };
        let mut checked_envs = Map::new();
        for (name, e) in envs {
            let field = format!("env.{name}");
            let Value::Object(mut e) = e else {
                return Err(in_file(
                    path,
                    usage(&field, format!("`{field}` must be a table")),
                ));
            };
            if let Some(k) = e.keys().find(|k| !ENV_KEYS.contains(&k.as_str())) {
                return Err(in_file(
                    path,
                    usage(
                        &field,
                        format!(
                            "`{field}`: unknown key `{}` (an environment sets {})",
                            crate::render::printable(k),
                            ENV_KEYS.join(", ")
                        ),
                    ),
                ));
            }
            absolute_paths(&mut e, base);
            checked_envs.insert(name, Value::Object(e));
        }
        if let Some(k) = top
            .keys()
            .find(|k| !RUN_KEYS.contains(&k.as_str()) && !OTHER_KEYS.contains(&k.as_str()))
        {
            return Err(in_file(
                path,
                usage(
                    k,
                    format!(
                        "unknown key `{}` (see spec/schema/config.schema.json)",
                        crate::render::printable(k)
                    ),
                ),
            ));
        }
        if top.contains_key("values") {
            return Err(in_file(
                path,
                usage(
                    "values",
                    "`values` belong to an environment (`[env.NAME.values]`)",
                ),
            ));
        }
        absolute_paths(&mut top, base);
        let c = Config {
            path: path.to_path_buf(),
            kind,
            top,
            envs: checked_envs,
        };
        // Check what can be checked now: the top level, and each environment over it.
        settings_from(&Value::Object(c.top.clone())).map_err(|e| in_file(path, e))?;
        for name in c.envs.keys() {
            c.layer(Some(name))
                .and_then(|l| settings_from(&Value::Object(l)))
                .map_err(|e| in_file(path, e))?;
        }
        Ok(c)
    }

    /// The configuration in the first directory from `start` up to the repository root that
    /// has one; `None` when there is none.
    pub fn discover(start: &Path) -> Result<Option<Config>> {
        let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            let mut found: Vec<PathBuf> = Vec::new();
            let toml_path = d.join("leastpriv.toml");
            if toml_path.is_file() {
                found.push(toml_path);
            }
            let py = d.join("pyproject.toml");
            if py.is_file()
                && let Ok(text) = std::fs::read_to_string(&py)
                && let Ok(doc) = parse_toml(&text, &py)
                && doc.get("tool").and_then(|t| t.get("leastpriv")).is_some()
            {
                found.push(py);
            }
            let pkg = d.join("package.json");
            if pkg.is_file()
                && let Ok(text) = std::fs::read_to_string(&pkg)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v.get("leastpriv").is_some()
            {
                found.push(pkg);
            }
            match found.len() {
                0 => {}
                1 => return Config::load(&found[0]).map(Some),
                _ => {
                    let names: Vec<String> = found.iter().map(|p| shown(p)).collect();
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!(
                            "two configurations in one directory: {}; keep one",
                            names.join(" and ")
                        ),
                    ));
                }
            }
            if d.join(".git").exists() {
                break;
            }
            dir = d.parent();
        }
        Ok(None)
    }

    /// The names of the environments the file defines.
    pub fn environments(&self) -> Vec<String> {
        self.envs.keys().cloned().collect()
    }

    /// The file's options for environment `env` (its `[env.NAME]` table over the top level,
    /// with `env` set to the name): one layer of [`resolve_settings`].
    pub fn layer(&self, env: Option<&str>) -> Result<Map<String, Value>> {
        let mut out = self.top.clone();
        if let Some(name) = env {
            match self.envs.get(name) {
                Some(Value::Object(e)) => {
                    for (k, v) in e {
                        out.insert(k.clone(), v.clone());
                    }
                }
                _ if self.envs.is_empty() => {}
                _ => {
                    let known: Vec<&str> = self.envs.keys().map(String::as_str).collect();
                    return Err(usage(
                        "env",
                        format!(
                            "{} has no environment `{}` (it has {})",
                            shown(&self.path),
                            crate::render::printable(name),
                            known.join(", ")
                        ),
                    ));
                }
            }
            out.insert("env".into(), Value::String(name.to_owned()));
        }
        Ok(out)
    }
}

fn in_file(path: &Path, e: Error) -> Error {
    let field = e.field().map(str::to_owned);
    let mut out = Error::new(e.kind(), format!("{}: {}", shown(path), e.message()));
    if let Some(f) = field {
        out = out.with_field(&f);
    }
    out
}

fn parse_toml(text: &str, path: &Path) -> Result<Value> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        // The message names the line and column; the parser's excerpt of the file is left out.
        let place = e
            .span()
            .map(|s| {
                let (line, col) = crate::read::line_col(text, s.start);
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        Error::new(
            ErrorKind::Usage,
            format!(
                "{}{place}: not valid TOML: {}",
                shown(path),
                crate::render::printable(e.message())
            ),
        )
    })?;
    serde_json::to_value(table).map_err(|_| {
        Error::new(
            ErrorKind::Usage,
            format!(
                "{}: a value TOML allows and JSON does not (a date?)",
                shown(path)
            ),
        )
    })
}

/// Makes the path options of a layer absolute against `base`.
fn absolute_paths(m: &mut Map<String, Value>, base: &Path) {
    let abs = |v: &mut Value| {
        if let Value::String(s) = v
            && !s.is_empty()
            && Path::new(s.as_str()).is_relative()
        {
            *s = base.join(s.as_str()).display().to_string();
        }
    };
    if let Some(v) = m.get_mut("out") {
        abs(v);
    }
    match m.get_mut("rules") {
        Some(Value::Array(items)) => items.iter_mut().for_each(abs),
        Some(v) => abs(v),
        None => {}
    }
    if let Some(Value::Object(check)) = m.get_mut("check") {
        for key in ["policy", "tfvars"] {
            match check.get_mut(key) {
                Some(Value::Array(items)) => items.iter_mut().for_each(abs),
                Some(v) => abs(v),
                None => {}
            }
        }
    }
}

/// The layer of the environment variables `LEASTPRIV_*` among `vars` (as
/// `std::env::vars()` gives them); list options are comma-separated.
pub fn env_layer<I: IntoIterator<Item = (String, String)>>(vars: I) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in vars {
        let Some((_, key, list)) = ENV_VARS.iter().find(|(name, _, _)| *name == k) else {
            continue;
        };
        if v.trim().is_empty() {
            continue;
        }
        let value = if *list {
            Value::Array(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )
        } else {
            Value::String(v)
        };
        out.insert((*key).to_owned(), value);
    }
    out
}

/// Everything a run is configured with.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The read and policy options.
    pub run: RunOptions,
    /// Where the policy is written, if anywhere.
    pub out: Option<PathBuf>,
    /// `json` or `terraform`, when said (else from the extension of `out`: `.tf` is Terraform).
    pub out_format: Option<String>,
    /// Rules files or directories.
    pub rules: Vec<PathBuf>,
    /// Extra files to write: `variables` (a `variables.tf` for the `var.*` the rewrite rules
    /// reference, beside a Terraform output).
    pub emit: Vec<String>,
    /// The AWS provider's major version for Terraform.
    pub terraform_provider: Option<u32>,
    /// Diagnostic kinds that fail the run (`unmapped`, `wildcard`, `oversize`, `quota`,
    /// `random_name`, `stale_rewrite`).
    pub fail_on: Vec<String>,
    /// The `check` table.
    pub check: CheckSettings,
    /// The configuration file read, if any.
    pub config: Option<PathBuf>,
}

/// The `check` table of a configuration: what `check` reads when the command line does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSettings {
    /// The declared policy files.
    pub policy: Vec<PathBuf>,
    /// Finding kinds that fail the run besides `missing`.
    pub fail_on: Vec<String>,
    /// Terraform variables or references and their values.
    pub vars: std::collections::BTreeMap<String, String>,
    /// `.tfvars` / `.tfvars.json` files.
    pub tfvars: Vec<PathBuf>,
}

impl CheckSettings {
    /// As data (`null` when the table says nothing).
    fn to_json(&self) -> Value {
        if *self == CheckSettings::default() {
            return Value::Null;
        }
        let paths = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        serde_json::json!({
            "policy": paths(&self.policy),
            "fail_on": self.fail_on,
            "vars": self.vars,
            "tfvars": paths(&self.tfvars),
        })
    }
}

/// Diagnostic kinds `fail_on` takes.
pub const FAIL_ON: &[&str] = &[
    "unmapped",
    "wildcard",
    "oversize",
    "quota",
    "random_name",
    "stale_rewrite",
];

fn strings(v: Option<&Value>, field: &str) -> Result<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(usage(field, format!("`{field}` must be a list of strings"))),
            })
            .collect(),
        Some(_) => Err(usage(field, format!("`{field}` must be a list of strings"))),
    }
}

fn settings_from(v: &Value) -> Result<Settings> {
    let Value::Object(m) = v else {
        return Err(usage("leastpriv", "the settings must be a table"));
    };
    let mut run = Map::new();
    for (k, val) in m {
        if RUN_KEYS.contains(&k.as_str()) {
            run.insert(k.clone(), val.clone());
        } else if !OTHER_KEYS.contains(&k.as_str()) && k != "config" {
            return Err(usage(
                k,
                format!("unknown option `{}`", crate::render::printable(k)),
            ));
        }
    }
    let run = RunOptions::from_json(&Value::Object(run))?;
    let out = match m.get("out") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(PathBuf::from(s)),
        Some(_) => return Err(usage("out", "`out` must be a path")),
    };
    let out_format = match m.get("out_format") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "json" || s == "terraform" => Some(s.clone()),
        Some(_) => {
            return Err(usage(
                "out_format",
                "`out_format` must be `json` or `terraform`",
            ));
        }
    };
    let emit = strings(m.get("emit"), "emit")?;
    if emit.iter().any(|e| e != "variables") {
        return Err(usage("emit", "`emit` takes `variables`"));
    }
    let fail_on = strings(m.get("fail_on"), "fail_on")?;
    if let Some(f) = fail_on.iter().find(|f| !FAIL_ON.contains(&f.as_str())) {
        return Err(usage(
            "fail_on",
            format!(
                "`fail_on`: `{}` is not one of {}",
                crate::render::printable(f),
                FAIL_ON.join(", ")
            ),
        ));
    }
    let terraform_provider = match m.get("terraform_provider") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n >= 4 => Some(n),
            _ => {
                return Err(usage(
                    "terraform_provider",
                    "`terraform_provider` is the AWS provider's major version (4 or later)",
                ));
            }
        },
    };
    let check = match m.get("check") {
        None | Some(Value::Null) => CheckSettings::default(),
        Some(Value::Object(c)) => {
            if let Some(k) = c
                .keys()
                .find(|k| !["policy", "fail_on", "vars", "tfvars"].contains(&k.as_str()))
            {
                return Err(usage(
                    "check",
                    format!(
                        "`check`: unknown key `{}` (it has `policy`, `fail_on`, `vars` and `tfvars`)",
                        crate::render::printable(k)
                    ),
                ));
            }
            let vars = match c.get("vars") {
                None | Some(Value::Null) => Default::default(),
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k.clone(), s.clone())),
                        _ => Err(()),
                    })
                    .collect::<std::result::Result<_, ()>>()
                    .map_err(|()| {
                        usage(
                            "check.vars",
                            "`check.vars` maps Terraform variables or references to strings",
                        )
                    })?,
                Some(_) => {
                    return Err(usage(
                        "check.vars",
                        "`check.vars` maps Terraform variables or references to strings",
                    ));
                }
            };
            let fail_on = strings(c.get("fail_on"), "check.fail_on")?;
            if fail_on
                .iter()
                .any(|x| !["missing", "unused", "broad", "undecidable"].contains(&x.as_str()))
            {
                return Err(usage(
                    "check.fail_on",
                    "`check.fail_on` takes `missing`, `unused`, `broad`, `undecidable`",
                ));
            }
            let paths = |v: Vec<String>| v.into_iter().map(PathBuf::from).collect();
            CheckSettings {
                policy: paths(strings(c.get("policy"), "check.policy")?),
                fail_on,
                vars,
                tfvars: paths(strings(c.get("tfvars"), "check.tfvars")?),
            }
        }
        Some(_) => return Err(usage("check", "`check` must be a table")),
    };
    Ok(Settings {
        run,
        out,
        out_format,
        rules: strings(m.get("rules"), "rules")?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        emit,
        terraform_provider,
        fail_on,
        check,
        config: m.get("config").and_then(Value::as_str).map(PathBuf::from),
    })
}

/// The layers of a run, highest precedence first: command-line options, environment variables,
/// the test runner's settings; the configuration file is found from `cwd` (or named by a
/// `config` member of a layer, or `LEASTPRIV_CONFIG`; `none` for no file).
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// Command-line options (only those given).
    pub cli: Map<String, Value>,
    /// The environment variables, as [`env_layer`] reads them; `LEASTPRIV_CONFIG` is taken
    /// from here too.
    pub env_vars: Vec<(String, String)>,
    /// The test runner's settings (pytest ini keys, jest `globals.leastpriv`).
    pub runner: Map<String, Value>,
}

impl Settings {
    /// The settings as data: `read` and `policy` (the forms `ReadOptions::from_json` and
    /// `PolicyOptions::from_json` read), `out`, `out_format` (resolved from the extension of
    /// `out` when not said), `rules`, `emit`, `terraform_provider`, `fail_on`, `check`,
    /// `config`.
    pub fn to_json(&self) -> Value {
        let out_format = self.out_format.clone().or_else(|| {
            self.out.as_ref().map(|o| {
                if o.extension().is_some_and(|x| x == "tf") {
                    "terraform".to_owned()
                } else {
                    "json".to_owned()
                }
            })
        });
        serde_json::json!({
            "read": self.run.read.to_json(),
            "policy": self.run.policy.to_json(),
            "out": self.out.as_ref().map(|p| p.display().to_string()),
            "out_format": out_format,
            "rules": self.rules.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "emit": self.emit,
            "terraform_provider": self.terraform_provider,
            "fail_on": self.fail_on,
            "check": self.check.to_json(),
            "config": self.config.as_ref().map(|p| p.display().to_string()),
        })
    }
}

/// The settings of a run: the configuration file (found from `cwd`) under the runner's
/// settings, the environment variables and the command line, merged option by option (a
/// higher layer replaces an option whole, lists included).
///
/// ```
/// use serde_json::json;
/// let mut layers = leastpriv::Layers::default();
/// layers.cli = json!({"region": "eu-west-1"}).as_object().unwrap().clone();
/// layers.env_vars = vec![("LEASTPRIV_REGION".into(), "us-east-1".into()), ("LEASTPRIV_ACCOUNT".into(), "123456789012".into()), ("LEASTPRIV_CONFIG".into(), "none".into())];
/// let s = leastpriv::resolve_settings(std::path::Path::new("."), &layers).unwrap();
/// assert_eq!(s.run.policy.region.as_deref(), Some("eu-west-1"));
/// assert_eq!(s.run.policy.account.as_deref(), Some("123456789012"));
/// ```
pub fn resolve_settings(cwd: &Path, layers: &Layers) -> Result<Settings> {
    let env = env_layer(layers.env_vars.iter().cloned());
    let named = |m: &Map<String, Value>| m.get("config").and_then(Value::as_str).map(str::to_owned);
    let config_path = named(&layers.cli)
        .or_else(|| {
            layers
                .env_vars
                .iter()
                .find(|(k, _)| k == "LEASTPRIV_CONFIG")
                .map(|(_, v)| v.clone())
                .filter(|v| !v.trim().is_empty())
        })
        .or_else(|| named(&layers.runner));
    let config = match config_path.as_deref() {
        Some("none") => None,
        Some(p) => {
            let p = cwd.join(p);
            Some(Config::load(&p)?)
        }
        None => Config::discover(cwd)?,
    };
    // The environment chosen: the highest layer that names one.
    let chosen = [&layers.cli, &env, &layers.runner]
        .into_iter()
        .find_map(|m| m.get("env").and_then(Value::as_str).map(str::to_owned));
    let mut merged = match &config {
        Some(c) => c.layer(chosen.as_deref())?,
        None => {
            let mut m = Map::new();
            if let Some(e) = &chosen {
                m.insert("env".into(), Value::String(e.clone()));
            }
            m
        }
    };
    for layer in [&layers.runner, &env, &layers.cli] {
        for (k, v) in layer {
            if k == "config" || v.is_null() {
                continue;
            }
            merged.insert(k.clone(), v.clone());
        }
    }
    let mut s = settings_from(&Value::Object(merged)).map_err(|e| match &config {
        Some(c) => in_file(&c.path, e),
        None => e,
    })?;
    s.config = config.map(|c| c.path);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lp-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join(".git")).unwrap();
        d
    }

    #[test]
    fn found_walking_up_and_two_in_one_directory_is_an_error() {
        let d = dir("walk");
        std::fs::write(d.join("leastpriv.toml"), "region = \"eu-west-1\"\n").unwrap();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        let c = Config::discover(&d.join("a/b")).unwrap().unwrap();
        assert_eq!(c.kind, ConfigKind::Toml);
        std::fs::write(
            d.join("pyproject.toml"),
            "[project]\nname = \"x\"\n[tool.leastpriv]\nregion = \"us-east-1\"\n",
        )
        .unwrap();
        let e = Config::discover(&d.join("a")).unwrap_err();
        assert!(
            e.message().contains("leastpriv.toml") && e.message().contains("pyproject.toml"),
            "{e}"
        );
        std::fs::remove_file(d.join("leastpriv.toml")).unwrap();
        let c = Config::discover(&d.join("a")).unwrap().unwrap();
        assert_eq!(c.kind, ConfigKind::Pyproject);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn precedence_is_cli_then_env_then_runner_then_file() {
        let d = dir("prec");
        std::fs::write(
            d.join("package.json"),
            r#"{"name": "x", "leastpriv": {"region": "eu-west-1", "account": "111111111111", "name": "file", "s3_objects": "exact",
                "env": {"prod": {"account": "222222222222", "values": {"bucket": "orders-prod"}}}}}"#,
        )
        .unwrap();
        let mut l = Layers::default();
        l.runner.insert("name".into(), "runner".into());
        l.runner.insert("s3_objects".into(), "bucket".into());
        l.env_vars = vec![
            ("LEASTPRIV_NAME".into(), "envvar".into()),
            ("LEASTPRIV_ENV".into(), "prod".into()),
        ];
        let s = resolve_settings(&d, &l).unwrap();
        assert_eq!(s.run.policy.name, "envvar");
        assert_eq!(s.run.policy.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.run.policy.account.as_deref(), Some("222222222222"));
        assert_eq!(s.run.policy.values["bucket"], "orders-prod");
        assert_eq!(s.run.policy.s3_objects, crate::S3Objects::Bucket);
        l.cli.insert("name".into(), "cli".into());
        l.cli.insert("env".into(), "staging".into());
        let e = resolve_settings(&d, &l).unwrap_err();
        assert!(e.message().contains("no environment `staging`"), "{e}");
        l.cli.remove("env");
        assert_eq!(resolve_settings(&d, &l).unwrap().run.policy.name, "cli");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        let d = dir("bad");
        std::fs::write(d.join("leastpriv.toml"), "regoin = \"x\"\n").unwrap();
        let e = Config::discover(&d).unwrap_err();
        assert!(e.message().contains("leastpriv.toml") && e.message().contains("regoin"));
        std::fs::write(d.join("leastpriv.toml"), "region = \n").unwrap();
        let e = Config::discover(&d).unwrap_err();
        assert!(e.message().contains("leastpriv.toml:1:"), "{e}");
        std::fs::write(
            d.join("leastpriv.toml"),
            "[[rewrite]]\nmatch = \"a-*\"\nname = \"b-<3>\"\n",
        )
        .unwrap();
        let e = Config::discover(&d).unwrap_err();
        assert_eq!(e.field(), Some("rewrite[1]"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
