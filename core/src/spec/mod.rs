//! The rules: loading and validating `spec/services.json` and `spec/services/*.json`, service-name
//! resolution, and the compiled form the engine runs.

mod path;
pub(crate) mod select;
mod transform;

pub(crate) use path::{Elem, Path};
pub use select::{NATIVE_DEPTH, NATIVE_NODES, NativeKind, NativeValue, Selection, native_to_value};
pub(crate) use transform::{Piece, Transform};

use crate::error::{Error, ErrorKind, Result};
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// Normalises a service name for lookup: lower-case, letters and digits only, without a
/// leading `@aws-sdk/client-` or a trailing `Client`.
///
/// ```
/// assert_eq!(leastpriv::normalize_service_name("CloudWatchLogsClient"), "cloudwatchlogs");
/// assert_eq!(leastpriv::normalize_service_name("@aws-sdk/client-cloudwatch-logs"), "cloudwatchlogs");
/// assert_eq!(leastpriv::normalize_service_name(":s3"), "s3");
/// ```
pub fn normalize_service_name(name: &str) -> String {
    let name = name.trim().trim_start_matches(':');
    let name = name.strip_prefix("@aws-sdk/").unwrap_or(name);
    let name = name.strip_prefix("client-").unwrap_or(name);
    let mut out: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if out.len() > "client".len() && out.ends_with("client") {
        out.truncate(out.len() - "client".len());
    }
    out
}

/// Normalises an operation name for lookup: `:GetObject`, `GetObjectCommand`, `get_object`
/// all become `getobject`.
pub(crate) fn normalize_operation(op: &str) -> String {
    normalized(op).map(char::from).collect()
}

/// The bytes of an operation's normalised name: its ASCII letters and digits, lower-cased.
fn normalized(op: &str) -> impl Iterator<Item = u8> + '_ {
    op.trim()
        .trim_start_matches(':')
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
}

/// Looks an operation up by its normalised name, then (for JS v3 command class names) without
/// a trailing `Command`: `SendCommand` and `SendCommandCommand` both find SSM's SendCommand,
/// `GetObjectCommand` finds GetObject.
pub(crate) fn find_operation<'a, T>(
    map: &'a HashMap<String, T>,
    op: &str,
) -> Option<(&'a T, String)> {
    // The usual name is normalised on the stack: a look-up that finds nothing (most, for the
    // dependent actions) allocates nothing.
    let mut buf = [0u8; 64];
    let mut n = 0;
    for c in normalized(op) {
        if let Some(b) = buf.get_mut(n) {
            *b = c;
        }
        n += 1;
    }
    let owned;
    let norm: &str = match buf.get(..n) {
        // ASCII letters and digits only.
        Some(short) => std::str::from_utf8(short).unwrap_or_default(),
        None => {
            owned = normalize_operation(op);
            &owned
        }
    };
    find_normalized(map, norm).map(|(v, name)| (v, name.to_owned()))
}

/// As [`find_operation`], for a name already normalised: the value, and the name it was found
/// under.
pub(crate) fn find_normalized<'a, 'n, T>(
    map: &'a HashMap<String, T>,
    norm: &'n str,
) -> Option<(&'a T, &'n str)> {
    if let Some(v) = map.get(norm) {
        return Some((v, norm));
    }
    let stripped = norm.strip_suffix("command").filter(|s| !s.is_empty())?;
    map.get(stripped).map(|v| (v, stripped))
}

/// The operation name as IAM would spell it: `:GetObject` → `GetObject`,
/// `GetObjectCommand` → `GetObject`, `get_object` → `GetObject`.
pub(crate) fn pascal_operation(op: &str) -> String {
    let op = op.trim().trim_start_matches(':');
    let op = op.strip_suffix("Command").unwrap_or(op);
    let mut out = String::with_capacity(op.len());
    let mut upper = true;
    for c in op.chars() {
        if c == '_' || c == '-' || c == ' ' {
            upper = true;
        } else if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The file formats (see spec/README.md and spec/schema/).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServices {
    services: BTreeMap<String, RawService>,
    #[serde(default, rename = "$comment")]
    _comment: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    prefix: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    service: String,
    prefix: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    resources: BTreeMap<String, RawResource>,
    #[serde(default)]
    operations: BTreeMap<String, RawOperation>,
    #[serde(default)]
    doc: Option<serde_json::Value>,
    #[serde(default)]
    note: Option<serde_json::Value>,
    #[serde(default, rename = "$comment")]
    _comment: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    arn: String,
    #[serde(default)]
    generalise: Option<String>,
    /// variable → ARN resource-part prefix → the template to use when the variable's value is
    /// a full ARN of that form (an S3 access point given as `Bucket`).
    #[serde(default)]
    arn_forms: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    note: Option<String>,
}

/// A compiled resource type: its template, the generalisable variable, and its ARN forms.
#[derive(Debug, Clone)]
pub(crate) struct ResourceType {
    template: Template,
    generalise: Option<String>,
    arn_forms: Vec<ArnForm>,
}

/// When `var`'s value is a full ARN whose resource part starts with `prefix`, the resource is
/// built from `template` instead, with `var` bound to the rest and the ARN's context.
#[derive(Debug, Clone)]
pub(crate) struct ArnForm {
    pub(crate) var: String,
    pub(crate) prefix: String,
    pub(crate) template: Template,
}

fn compile_resource(name: &str, r: &RawResource) -> std::result::Result<ResourceType, String> {
    let template = Template::parse(&r.arn).map_err(|m| format!("resource `{name}`: {m}"))?;
    if let Some(g) = &r.generalise
        && template.0.last() != Some(&TplPart::Var(g.clone()))
    {
        return Err(format!(
            "resource `{name}`: `generalise` must name the template's last variable"
        ));
    }
    let mut arn_forms = Vec::new();
    for (var, forms) in &r.arn_forms {
        if !template.vars().any(|v| v == var) {
            return Err(format!(
                "resource `{name}`: arn_forms: `{{{var}}}` is not in the template"
            ));
        }
        for (prefix, t) in forms {
            let form = Template::parse(t).map_err(|m| format!("resource `{name}`: {m}"))?;
            let mut vars: Vec<&str> = form.vars().filter(|v| !is_context_var(v)).collect();
            let mut own: Vec<&str> = template.vars().filter(|v| !is_context_var(v)).collect();
            vars.sort_unstable();
            vars.dedup();
            own.sort_unstable();
            own.dedup();
            if vars != own {
                return Err(format!(
                    "resource `{name}`: the arn_forms template `{t}` must use the same variables"
                ));
            }
            arn_forms.push(ArnForm {
                var: var.clone(),
                prefix: prefix.clone(),
                template: form,
            });
        }
    }
    Ok(ResourceType {
        template,
        generalise: r.generalise.clone(),
        arn_forms,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    #[serde(default)]
    grants: Option<Vec<RawGrant>>,
    #[serde(default)]
    none: Option<String>,
    #[serde(default)]
    doc: Option<serde_json::Value>,
    #[serde(default)]
    note: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    action: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    bind: BTreeMap<String, RawBinding>,
    #[serde(default, rename = "if")]
    if_: Option<RawConditions>,
    #[serde(default)]
    unless: Option<RawConditions>,
    #[serde(default)]
    each: Option<String>,
    #[serde(default)]
    condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany>>>,
    #[serde(default)]
    context: Option<BTreeMap<String, String>>,
    #[serde(default)]
    broadened: Option<String>,
    #[serde(default)]
    hint: Option<BTreeMap<String, String>>,
    #[serde(default)]
    note: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawBinding {
    Path(String),
    List(#[allow(dead_code)] Vec<serde::de::IgnoredAny>),
    Full(RawBindingFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBindingFull {
    path: String,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    transform: Option<String>,
    #[serde(default)]
    part: Option<String>,
    #[serde(default)]
    lower: bool,
}

// A derived struct also deserializes from a JSON array (by position), so every untagged enum
// tries the list forms first and rejects arrays where a single object is meant.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawConditions {
    Many(Vec<RawCondition>),
    One(RawCondition),
}

impl RawConditions {
    fn into_vec(self) -> Vec<RawCondition> {
        match self {
            RawConditions::One(c) => vec![c],
            RawConditions::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCondition {
    Path(String),
    Nested(#[allow(dead_code)] Vec<serde::de::IgnoredAny>),
    Full(RawConditionFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConditionFull {
    path: String,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    transform: Option<String>,
    #[serde(default)]
    part: Option<String>,
    #[serde(default)]
    equals: Option<OneOrMany>,
    #[serde(default)]
    matches: Option<OneOrMany>,
}

// ---------------------------------------------------------------------------------------------
// The compiled form.

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TplPart {
    Lit(String),
    Var(String),
}

/// `arn:{partition}:s3:::{bucket}` as pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(pub(crate) Vec<TplPart>);

impl Template {
    fn parse(text: &str) -> std::result::Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TplPart::Lit(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("template `{text}`: unclosed `{{`"))?;
            let var = &after[..close];
            if var.is_empty()
                || !var
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!("template `{text}`: bad variable `{{{var}}}`"));
            }
            parts.push(TplPart::Var(var.to_owned()));
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("template `{text}`: stray `}}`"));
        }
        if !rest.is_empty() {
            parts.push(TplPart::Lit(rest.to_owned()));
        }
        Ok(Template(parts))
    }

    pub(crate) fn vars(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            TplPart::Var(v) => Some(v.as_str()),
            TplPart::Lit(_) => None,
        })
    }
}

pub(crate) fn is_context_var(v: &str) -> bool {
    matches!(v, "partition" | "region" | "account")
}

#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) path: Path,
    pub(crate) default: Option<String>,
    pub(crate) arn: Option<String>,
    pub(crate) transform: Option<Transform>,
    pub(crate) part: Option<String>,
    /// The value in lower case (SageMaker writes its resource names lower-cased in ARNs).
    pub(crate) lower: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) binding: Binding,
    pub(crate) equals: Option<Vec<String>>,
    /// Globs (`*`, `?`), case-insensitive.
    pub(crate) matches: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub(crate) enum ResourceSpec {
    Star,
    Template {
        template: Template,
        generalise: Option<String>,
        arn_forms: Vec<ArnForm>,
    },
}

/// An IAM condition key's form: letters, digits and `:/_-.`, not empty.
pub(crate) fn is_condition_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-' | b'.'))
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) action: String,
    pub(crate) resource: ResourceSpec,
    pub(crate) bind: Vec<(String, Binding)>,
    /// All must hold.
    pub(crate) if_: Vec<Condition>,
    /// None may hold.
    pub(crate) unless: Vec<Condition>,
    pub(crate) each: Option<Path>,
    /// (operator, key, value templates)
    pub(crate) condition: Vec<(String, String, Vec<Template>)>,
    /// Request context keys the request tells (for `check`): (key, path of the member).
    pub(crate) context: Vec<(String, Path)>,
    /// Why the resource is wider than the request's, when it is.
    pub(crate) broadened: Option<String>,
    /// What would narrow it (goes into the `broadened` diagnostic).
    pub(crate) hint: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Operation {
    Grants(Vec<Grant>),
    None(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub(crate) key: String,
    pub(crate) prefix: String,
    /// Where the curated operations come from, in order (a later one replaces an earlier
    /// one's operation of the same name).
    sources: Vec<RuleSource>,
    /// The curated operations, compiled from `sources` on first use.
    ops: OnceLock<ApiOps>,
    /// The generated catalog's entry for this API (beneath the curated rules), compiled on
    /// first use.
    pub(crate) catalog: Option<Arc<CatalogEntry>>,
}

/// An API's curated operations.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiOps {
    /// By normalised operation name.
    pub(crate) operations: HashMap<String, Arc<Operation>>,
    /// The same, keyed by the name as the rules spell it (the common case needs no
    /// normalisation), each with its normalised name.
    pub(crate) exact_operations: HashMap<String, (Arc<Operation>, Box<str>)>,
    /// Every operation name as the rules spell it, for listings.
    pub(crate) operation_names: BTreeMap<String, String>,
}

impl ApiOps {
    fn insert(&mut self, name: String, op: Arc<Operation>) {
        let norm = normalize_operation(&name);
        self.operation_names.insert(norm.clone(), name.clone());
        self.exact_operations
            .insert(name, (Arc::clone(&op), norm.clone().into_boxed_str()));
        self.operations.insert(norm, op);
    }
}

/// A rules file's operations for one API.
#[derive(Debug, Clone)]
enum RuleSource {
    /// A built-in file, compiled when the API is first used (the files are checked by the
    /// crate's tests), with the IAM prefix it is compiled under.
    Builtin { text: &'static str, prefix: String },
    /// A file of the user's, compiled (and checked) when the rules were built.
    Compiled(Vec<(String, Arc<Operation>)>),
}

/// A built-in rules file and its head, read when the crate was built.
#[derive(Debug)]
pub(crate) struct EmbeddedRules {
    pub(crate) file: &'static str,
    pub(crate) service: &'static str,
    pub(crate) prefix: Option<&'static str>,
    pub(crate) names: &'static [&'static str],
    pub(crate) text: &'static str,
}

impl Api {
    /// The curated operations (compiled on first use).
    pub(crate) fn ops(&self) -> &ApiOps {
        self.ops.get_or_init(|| {
            let mut ops = ApiOps::default();
            for source in &self.sources {
                match source {
                    RuleSource::Builtin { text, prefix } => {
                        // A broken built-in file in a development build: no operations from
                        // it, rather than a panic (`Rules::check_builtin` reports it).
                        for (name, op) in compile_operations("", text, prefix).unwrap_or_default() {
                            ops.insert(name, op);
                        }
                    }
                    RuleSource::Compiled(list) => {
                        for (name, op) in list {
                            ops.insert(name.clone(), Arc::clone(op));
                        }
                    }
                }
            }
            ops
        })
    }
}

/// One service of `spec/catalog.json`: its text, compiled when an operation is first looked up.
#[derive(Debug)]
pub(crate) struct CatalogEntry {
    text: &'static str,
    compiled: OnceLock<CatalogOps>,
}

/// A service's generated operations.
#[derive(Debug, Default)]
pub(crate) struct CatalogOps {
    /// By normalised operation name.
    pub(crate) operations: HashMap<String, CatalogOp>,
    /// Operations botocore has and IAM has no action for: (name, why).
    pub(crate) unmatched: HashMap<String, (String, String)>,
    /// Dependent actions of curated or generated operations, by normalised operation name
    /// and by the name as botocore spells it (the common case needs no normalisation).
    dependent: HashMap<String, Arc<Dependent>>,
    dependent_exact: HashMap<String, Arc<Dependent>>,
}

impl CatalogOps {
    /// The dependent actions of an operation, if it has any.
    pub(crate) fn dependent_of(&self, operation: &str) -> Option<&Dependent> {
        self.dependent_exact
            .get(operation)
            .or_else(|| find_operation(&self.dependent, operation).map(|(d, _)| d))
            .map(|d| d.as_ref())
    }

    /// As [`CatalogOps::dependent_of`], the operation's normalised name `norm` given (it is
    /// known for a curated operation found by its exact name): the same look-ups without
    /// normalising it again.
    pub(crate) fn dependent_of_normalized(
        &self,
        operation: &str,
        norm: &str,
    ) -> Option<&Dependent> {
        self.dependent_exact
            .get(operation)
            .or_else(|| find_normalized(&self.dependent, norm).map(|(d, _)| d))
            .map(|d| d.as_ref())
    }
}

/// The dependent actions of one operation: grants that apply when the request shows the need
/// (beneath the operation's own grants: an action the operation grants itself is skipped), and
/// the actions that may be needed but that the request cannot tell.
#[derive(Debug, Default)]
pub(crate) struct Dependent {
    pub(crate) grants: Vec<Grant>,
    pub(crate) may_need: Vec<String>,
}

/// A generated operation: a rule, and why its resource is `*` when it could not be bound.
#[derive(Debug)]
pub(crate) struct CatalogOp {
    pub(crate) name: String,
    pub(crate) operation: Operation,
    pub(crate) why: Option<String>,
}

impl CatalogEntry {
    /// The compiled operations. The embedded catalog is checked by the crate's tests; a
    /// broken entry in a development build yields no operations rather than a panic.
    pub(crate) fn ops(&self) -> &CatalogOps {
        self.compiled
            .get_or_init(|| compile_catalog_service(self.text).unwrap_or_default())
    }
}

/// What the generated catalog says about itself: its sources and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogInfo {
    /// The packages (and versions) it was generated from, and the generator.
    pub source: Vec<(String, String)>,
    /// The generator's counts: `services`, `operations`, `curated`, `by_name`, `by_rule`,
    /// `unmatched`, `with_resource_types`, `resource_level`.
    pub counts: Vec<(String, u64)>,
}

impl CatalogInfo {
    /// A count by name (0 when absent).
    pub fn count(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c)
    }
}

/// The mapping rules: service names and, per API, the operations' grants.
///
/// [`Rules::builtin`] holds the curated rules shipped in `spec/`; a [`RulesBuilder`] adds or
/// overrides rules from a user's own files.
///
/// ```
/// let rules = leastpriv::Rules::builtin();
/// assert_eq!(rules.prefix_of("monitoring"), Some("cloudwatch"));
/// assert_eq!(rules.prefix_of("S3Client"), Some("s3"));
/// ```
#[derive(Debug, Clone)]
pub struct Rules {
    names: HashMap<String, usize>,
    pub(crate) apis: Vec<Api>,
    /// Every action the rules can emit, built on first use (by [`Rules::can_emit`]).
    emittable: OnceLock<std::collections::HashSet<String>>,
    /// What each (service, operation) reads, built on first use (by [`Rules::selection`]).
    pub(crate) selections: SelectionCache,
}

/// Selections by (service, operation).
type Selections = HashMap<(String, String), Arc<select::Selection>>;

/// The selections worked out so far, shared by every clone of the rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct SelectionCache(Arc<std::sync::RwLock<Selections>>);

impl Rules {
    /// The curated rules shipped with the crate (parsed once, then shared).
    pub fn builtin() -> Arc<Rules> {
        static BUILTIN: OnceLock<std::result::Result<Arc<Rules>, Error>> = OnceLock::new();
        match BUILTIN.get_or_init(|| RulesBuilder::new().build().map(Arc::new)) {
            Ok(r) => Arc::clone(r),
            // The embedded files are checked by the crate's tests; should one be broken in a
            // development build, fall back to no rules rather than panicking.
            Err(_) => Arc::new(Rules {
                names: HashMap::default(),
                apis: Vec::new(),
                emittable: OnceLock::new(),
                selections: SelectionCache::default(),
            }),
        }
    }

    /// The built-in rules with your own rules files (or directories of them, every `*.json`
    /// in name order) over them, operation by operation; the built-in rules alone, shared,
    /// when `paths` is empty.
    ///
    /// ```
    /// let rules = leastpriv::Rules::from_paths(&[] as &[&str]).unwrap();
    /// assert_eq!(rules.prefix_of("s3"), Some("s3"));
    /// assert!(leastpriv::Rules::from_paths(&["no/such/rules.json"]).is_err());
    /// ```
    pub fn from_paths<P: AsRef<std::path::Path>>(paths: &[P]) -> Result<Arc<Rules>> {
        if paths.is_empty() {
            return Ok(Rules::builtin());
        }
        let mut b = RulesBuilder::new();
        for p in paths {
            b.add_path(p)?;
        }
        Ok(Arc::new(b.build()?))
    }

    /// Checks that the embedded rules load, the generated catalog's operations included
    /// (used by tests and `leastpriv catalog`).
    pub fn check_builtin() -> Result<()> {
        let rules = RulesBuilder::new().build()?;
        for f in EMBEDDED_RULES {
            let prefix = rules
                .api_of(f.service)
                .map(|a| a.prefix.clone())
                .unwrap_or_default();
            compile_operations(f.file, f.text, &prefix)?;
        }
        for a in &rules.apis {
            if let Some(c) = &a.catalog {
                compile_catalog_service(c.text).map_err(|m| {
                    rules_error("spec/catalog.json", format!("service `{}`: {m}", a.key))
                })?;
            }
        }
        Ok(())
    }

    /// The IAM prefix of a service name in any dialect, if the name is known.
    pub fn prefix_of(&self, service: &str) -> Option<&str> {
        self.api_of(service).map(|a| a.prefix.as_str())
    }

    /// Whether `service` (by any of its names) has `operation`: a curated or generated rule,
    /// or an operation botocore lists that maps to no IAM action.
    pub(crate) fn has_operation(&self, service: &str, operation: &str) -> bool {
        let Some(api) = self.api_of(service) else {
            return false;
        };
        if api.ops().exact_operations.contains_key(operation)
            || find_operation(&api.ops().operations, operation).is_some()
        {
            return true;
        }
        api.catalog.as_deref().is_some_and(|c| {
            let ops = c.ops();
            find_operation(&ops.operations, operation).is_some()
                || find_operation(&ops.unmatched, operation).is_some()
        })
    }

    /// The botocore name of the API `service` names.
    pub(crate) fn api_key(&self, service: &str) -> Option<&str> {
        self.api_of(service).map(|a| a.key.as_str())
    }

    pub(crate) fn api_of(&self, service: &str) -> Option<&Api> {
        self.names
            .get(service)
            .or_else(|| self.names.get(&normalize_service_name(service)))
            .and_then(|&i| self.apis.get(i))
    }

    /// Number of APIs known by name, and number of operations with a rule.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.apis.len(),
            self.apis.iter().map(|a| a.ops().operations.len()).sum(),
        )
    }

    /// The generated catalog's sources and counts (`None` without the built-in rules).
    pub fn catalog_info(&self) -> Option<CatalogInfo> {
        if !self.apis.iter().any(|a| a.catalog.is_some()) {
            return None;
        }
        let mut info = CatalogInfo::default();
        for line in EMBEDDED_CATALOG.lines() {
            let (key, rest) = match line.strip_prefix("\"source\":") {
                Some(r) => ("source", r),
                None => match line.strip_prefix("\"counts\":") {
                    Some(r) => ("counts", r),
                    None => continue,
                },
            };
            let v: serde_json::Value =
                serde_json::from_str(rest.trim_end_matches(',')).unwrap_or_default();
            for (k, v) in v.as_object().into_iter().flatten() {
                if key == "source" {
                    info.source
                        .push((k.clone(), v.as_str().unwrap_or_default().to_owned()));
                } else {
                    info.counts
                        .push((k.clone(), v.as_u64().unwrap_or_default()));
                }
            }
        }
        Some(info)
    }

    /// `(api key, operation, action)` for every operation the generated catalog maps (beneath
    /// the curated rules, whether or not a curated rule overrides it), sorted. Compiles the
    /// whole catalog.
    pub fn catalog_operations(&self) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        for a in &self.apis {
            let Some(c) = &a.catalog else { continue };
            for op in c.ops().operations.values() {
                let actions = match &op.operation {
                    Operation::Grants(g) => g.iter().map(|g| g.action.clone()).collect(),
                    Operation::None(_) => Vec::new(),
                };
                out.push((a.key.clone(), op.name.clone(), actions));
            }
        }
        out.sort();
        out
    }

    /// Every action the rules can emit, sorted and unique: the curated rules', the generated
    /// catalog's and their dependent actions' (which this compiles in full).
    pub fn actions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in &self.apis {
            let generated = a
                .catalog
                .iter()
                .flat_map(|c| c.ops().operations.values().map(|o| &o.operation));
            for op in a
                .ops()
                .operations
                .values()
                .map(|o| o.as_ref())
                .chain(generated)
            {
                if let Operation::Grants(g) = op {
                    out.extend(g.iter().map(|g| g.action.clone()));
                }
            }
            if let Some(c) = &a.catalog {
                for d in c.ops().dependent_exact.values() {
                    out.extend(d.grants.iter().map(|g| g.action.clone()));
                    out.extend(d.may_need.iter().cloned());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether `action` is one the rules can emit (the first call compiles the whole catalog).
    pub fn can_emit(&self, action: &str) -> bool {
        self.emittable
            .get_or_init(|| self.actions().into_iter().collect())
            .contains(action)
    }

    /// `(api key, operation)` for every operation with a rule, sorted.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .apis
            .iter()
            .flat_map(|a| {
                a.ops()
                    .operation_names
                    .values()
                    .map(move |op| (a.key.clone(), op.clone()))
            })
            .collect();
        out.sort();
        out
    }
}

/// Builds [`Rules`]: the built-in files plus your own.
///
/// ```
/// let rules = leastpriv::RulesBuilder::new()
///     .add_str("my-rules.json", r#"{"service": "s3", "operations": {
///         "GetObject": {"grants": [{"action": "s3:GetObject", "resource": "*"}]}}}"#)
///     .build()
///     .unwrap();
/// assert_eq!(rules.prefix_of("s3"), Some("s3"));
/// ```
#[derive(Debug, Clone)]
pub struct RulesBuilder {
    builtin: bool,
    files: Vec<(String, String)>,
}

impl Default for RulesBuilder {
    fn default() -> Self {
        RulesBuilder::new()
    }
}

impl RulesBuilder {
    /// Starts from the built-in rules.
    pub fn new() -> RulesBuilder {
        RulesBuilder {
            builtin: true,
            files: Vec::new(),
        }
    }

    /// Starts from nothing: only the files you add count.
    ///
    /// ```
    /// let rules = leastpriv::RulesBuilder::new().without_builtin().build().unwrap();
    /// assert_eq!(rules.prefix_of("s3"), None);
    /// ```
    pub fn without_builtin(&mut self) -> &mut RulesBuilder {
        self.builtin = false;
        self
    }

    /// Adds a rules file from a string; `name` is used in error messages. Operations in it
    /// replace built-in rules of the same API and operation.
    pub fn add_str(
        &mut self,
        name: impl Into<String>,
        text: impl Into<String>,
    ) -> &mut RulesBuilder {
        self.files.push((name.into(), text.into()));
        self
    }

    /// Adds a rules file, or every `*.json` file of a directory (in name order).
    pub fn add_path(&mut self, path: impl AsRef<std::path::Path>) -> Result<&mut RulesBuilder> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| Error::io(&e, &shown))?;
        if meta.is_dir() {
            let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::io(&e, &shown))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for f in files {
                let shown = f.display().to_string();
                let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&e, &shown))?;
                self.files.push((shown, text));
            }
        } else {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(&e, &shown))?;
            self.files.push((shown, text));
        }
        Ok(self)
    }

    /// Parses and validates everything.
    pub fn build(&self) -> Result<Rules> {
        let mut rules = Rules {
            names: HashMap::default(),
            apis: Vec::new(),
            emittable: OnceLock::new(),
            selections: SelectionCache::default(),
        };
        if self.builtin {
            add_services(&mut rules, "spec/services.json", EMBEDDED_SERVICES)?;
            add_catalog(&mut rules, "spec/catalog.json", EMBEDDED_CATALOG)?;
            for f in EMBEDDED_RULES {
                let i = api_index(&mut rules, f.service, f.prefix);
                add_names(&mut rules, i, f.names.iter().copied());
                let prefix = rules.apis[i].prefix.clone();
                rules.apis[i].sources.push(RuleSource::Builtin {
                    text: f.text,
                    prefix,
                });
            }
        }
        for (name, text) in &self.files {
            add_rules(&mut rules, name, text)?;
        }
        Ok(rules)
    }
}

fn rules_error(file: &str, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Rules, msg).with_path(file)
}

fn json_error(file: &str, e: &serde_json::Error) -> Error {
    rules_error(file, e.to_string()).at(e.line() as u64, e.column() as u64)
}

fn api_index(rules: &mut Rules, key: &str, prefix: Option<&str>) -> usize {
    if let Some(i) = rules.apis.iter().position(|a| a.key == key) {
        if let Some(p) = prefix {
            rules.apis[i].prefix = p.to_owned();
        }
        return i;
    }
    rules.apis.push(Api {
        key: key.to_owned(),
        prefix: prefix.unwrap_or(key).to_owned(),
        sources: Vec::new(),
        ops: OnceLock::new(),
        catalog: None,
    });
    let i = rules.apis.len() - 1;
    rules.names.insert(normalize_service_name(key), i);
    i
}

fn add_services(rules: &mut Rules, file: &str, text: &str) -> Result<()> {
    let raw: RawServices = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    // Names are claimed first by API key, then by the listed names, then by IAM prefix (several
    // APIs share a prefix: `ses` is SES v1's key and SES v2's prefix).
    let mut aliases = Vec::new();
    let mut prefixes = Vec::new();
    for (key, svc) in &raw.services {
        let _ = &svc.note;
        let i = api_index(rules, key, Some(&svc.prefix));
        prefixes.push((i, svc.prefix.clone()));
        for n in &svc.names {
            aliases.push((i, n.clone()));
        }
    }
    aliases.extend(prefixes);
    for (i, name) in aliases {
        let n = normalize_service_name(&name);
        if n.is_empty() {
            return Err(rules_error(file, format!("empty service name `{name}`")));
        }
        rules.names.entry(n).or_insert(i);
    }
    Ok(())
}

/// The part of a catalog service read eagerly: the rest is compiled on first use.
#[derive(Deserialize)]
struct RawCatalogHead {
    prefix: String,
    #[serde(default)]
    names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogService {
    #[serde(default, rename = "prefix")]
    _prefix: String,
    #[serde(default, rename = "names")]
    _names: Vec<String>,
    #[serde(default)]
    resources: BTreeMap<String, RawResource>,
    #[serde(default)]
    operations: BTreeMap<String, RawCatalogOp>,
    #[serde(default)]
    unmatched: BTreeMap<String, String>,
    #[serde(default)]
    dependent: BTreeMap<String, RawDependent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogOp {
    #[serde(default)]
    grants: Option<Vec<RawGrant>>,
    #[serde(default)]
    none: Option<String>,
    #[serde(default)]
    why: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDependent {
    #[serde(default)]
    grants: Vec<RawGrant>,
    #[serde(default)]
    may_need: Vec<String>,
}

/// Reads `spec/catalog.json` (written by `spec/tools/gen_catalog.py`, one service per line:
/// `"KEY":{...},`) as a layer beneath the curated rules: each service's prefix and names now
/// (names already claimed keep their service), its operations when first needed.
fn add_catalog(rules: &mut Rules, file: &str, text: &'static str) -> Result<()> {
    let mut aliases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some((key, body)) = line.strip_prefix('"').and_then(|l| l.split_once("\":")) else {
            continue;
        };
        if !body.starts_with('{') || matches!(key, "source" | "counts" | "services") {
            continue;
        }
        let body = body.strip_suffix(',').unwrap_or(body);
        // The generator writes `prefix` and `names` first: read only them now.
        let head_end = body
            .find(",\"resources\":")
            .or_else(|| body.find(",\"operations\":"));
        let head_text = match head_end {
            Some(i) => format!("{}}}", &body[..i]),
            None => body.to_owned(),
        };
        let head: RawCatalogHead = serde_json::from_str(&head_text)
            .map_err(|e| rules_error(file, e.to_string()).at(n as u64 + 1, e.column() as u64))?;
        let known = rules.apis.iter().position(|a| a.key == key);
        let i = match known {
            Some(i) => i,
            None => api_index(rules, key, Some(&head.prefix)),
        };
        rules.apis[i].catalog = Some(Arc::new(CatalogEntry {
            text: body,
            compiled: OnceLock::new(),
        }));
        for name in head.names {
            aliases.push((i, name));
        }
        aliases.push((i, head.prefix));
    }
    for (i, name) in aliases {
        let n = normalize_service_name(&name);
        if !n.is_empty() {
            rules.names.entry(n).or_insert(i);
        }
    }
    Ok(())
}

fn compile_catalog_service(text: &str) -> std::result::Result<CatalogOps, String> {
    let raw: RawCatalogService = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut resources = HashMap::default();
    for (name, r) in &raw.resources {
        resources.insert(name.clone(), compile_resource(name, r)?);
    }
    let mut out = CatalogOps::default();
    for (name, op) in raw.operations {
        let operation = match (op.grants, op.none) {
            (Some(raw_grants), None) => {
                let mut grants = Vec::with_capacity(raw_grants.len());
                for g in raw_grants {
                    grants.push(compile_grant(g, &resources, "")?);
                }
                Operation::Grants(grants)
            }
            (None, Some(why)) => Operation::None(why),
            _ => return Err(format!("operation `{name}`: needs `grants` or `none`")),
        };
        out.operations.insert(
            normalize_operation(&name),
            CatalogOp {
                name,
                operation,
                why: op.why,
            },
        );
    }
    for (name, dep) in raw.dependent {
        let mut grants = Vec::with_capacity(dep.grants.len());
        for g in dep.grants {
            grants.push(
                compile_grant(g, &resources, "").map_err(|m| format!("dependent `{name}`: {m}"))?,
            );
        }
        let dep = Arc::new(Dependent {
            grants,
            may_need: dep.may_need,
        });
        out.dependent
            .insert(normalize_operation(&name), Arc::clone(&dep));
        out.dependent_exact.insert(name, dep);
    }
    for (name, why) in raw.unmatched {
        out.unmatched
            .insert(normalize_operation(&name), (name, why));
    }
    Ok(out)
}

/// The names a rules file gives its API (each one claims the name).
fn add_names<'n>(rules: &mut Rules, i: usize, names: impl Iterator<Item = &'n str>) {
    for n in names {
        let n = normalize_service_name(n);
        if !n.is_empty() {
            rules.names.insert(n, i);
        }
    }
}

/// A user's rules file: its head now, its operations compiled (and checked) now.
fn add_rules(rules: &mut Rules, file: &str, text: &str) -> Result<()> {
    let raw: RawRules = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    let i = api_index(rules, &raw.service, raw.prefix.as_deref());
    add_names(rules, i, raw.names.iter().map(String::as_str));
    let prefix = rules.apis[i].prefix.clone();
    let ops = compile_raw(file, raw, &prefix)?;
    // Compiled operations already in use stay as they were: a builder makes new rules.
    rules.apis[i].ops = OnceLock::new();
    rules.apis[i].sources.push(RuleSource::Compiled(ops));
    Ok(())
}

/// The operations of a rules file, compiled under the API's IAM prefix.
fn compile_operations(
    file: &str,
    text: &str,
    prefix: &str,
) -> Result<Vec<(String, Arc<Operation>)>> {
    let raw: RawRules = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    compile_raw(file, raw, prefix)
}

fn compile_raw(file: &str, raw: RawRules, prefix: &str) -> Result<Vec<(String, Arc<Operation>)>> {
    let _ = (&raw.doc, &raw.note);
    let mut resources = HashMap::default();
    for (name, r) in &raw.resources {
        let _ = &r.note;
        resources.insert(
            name.clone(),
            compile_resource(name, r).map_err(|m| rules_error(file, m))?,
        );
    }
    let mut out = Vec::with_capacity(raw.operations.len());
    for (op_name, op) in raw.operations {
        let _ = (&op.doc, &op.note);
        let ctx = |m: String| rules_error(file, format!("operation `{op_name}`: {m}"));
        let compiled = match (op.grants, op.none) {
            (Some(grants), None) => {
                let mut grants_out = Vec::with_capacity(grants.len());
                for (gi, g) in grants.into_iter().enumerate() {
                    grants_out.push(
                        compile_grant(g, &resources, prefix)
                            .map_err(|m| ctx(format!("grant {}: {m}", gi + 1)))?,
                    );
                }
                Operation::Grants(grants_out)
            }
            (None, Some(why)) => Operation::None(why),
            _ => return Err(ctx("needs exactly one of `grants` or `none`".into())),
        };
        out.push((op_name, Arc::new(compiled)));
    }
    Ok(out)
}

fn compile_binding(raw: RawBinding) -> std::result::Result<Binding, String> {
    let full = match raw {
        RawBinding::List(_) => return Err("a binding is a path or an object, not an array".into()),
        RawBinding::Path(p) => RawBindingFull {
            path: p,
            default: None,
            arn: None,
            transform: None,
            part: None,
            lower: false,
        },
        RawBinding::Full(f) => f,
    };
    let path = Path::parse(&full.path, false)?;
    let transform = match &full.transform {
        Some(t) => Some(Transform::parse(t).ok_or_else(|| format!("unknown transform `{t}`"))?),
        None => None,
    };
    if let Some(part) = &full.part {
        match transform {
            Some(t) if t.part_names().contains(&part.as_str()) => {}
            Some(t) => return Err(format!("transform `{}` has no part `{part}`", t_name(t))),
            None => return Err("`part` needs a `transform`".into()),
        }
    }
    if full.arn.is_some() && transform.is_some() {
        return Err("`arn` and `transform` cannot be combined".into());
    }
    Ok(Binding {
        path,
        default: full.default,
        arn: full.arn,
        transform,
        part: full.part,
        lower: full.lower,
    })
}

fn t_name(t: Transform) -> &'static str {
    match t {
        Transform::SqsQueueUrl => "sqs-queue-url",
        Transform::S3CopySource => "s3-copy-source",
        Transform::LambdaFunction => "lambda-function",
        Transform::SsmParameter => "ssm-parameter",
        Transform::SecretId => "secret-id",
        Transform::Partiql => "partiql",
        Transform::KmsKey => "kms-key",
        Transform::ExecuteApiEndpoint => "execute-api-endpoint",
        Transform::BedrockModel => "bedrock-model",
        Transform::CognitoUserPool => "cognito-user-pool",
        Transform::StateMachine => "state-machine",
        Transform::EmailAddress => "email-address",
        Transform::Arn => "arn",
        Transform::Route53Id => "route53-id",
        Transform::S3Uri => "s3-uri",
        Transform::UrlEncode => "url-encode",
    }
}

fn compile_condition(raw: RawCondition) -> std::result::Result<Condition, String> {
    match raw {
        RawCondition::Nested(_) => Err("a condition in a list must be a path or an object".into()),
        RawCondition::Path(p) => Ok(Condition {
            binding: compile_binding(RawBinding::Path(p))?,
            equals: None,
            matches: None,
        }),
        RawCondition::Full(f) => Ok(Condition {
            binding: compile_binding(RawBinding::Full(RawBindingFull {
                path: f.path,
                default: None,
                arn: f.arn,
                transform: f.transform,
                part: f.part,
                lower: false,
            }))?,
            equals: f.equals.map(OneOrMany::into_vec),
            matches: f.matches.map(OneOrMany::into_vec),
        }),
    }
}

fn compile_grant(
    g: RawGrant,
    resources: &HashMap<String, ResourceType>,
    prefix: &str,
) -> std::result::Result<Grant, String> {
    let _ = &g.note;
    let (svc, name) = g
        .action
        .split_once(':')
        .ok_or_else(|| format!("action `{}` is not `prefix:Name`", g.action))?;
    if svc.is_empty()
        || name.is_empty()
        || !svc
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || !name.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(format!("action `{}` is not `prefix:Name`", g.action));
    }
    let _ = prefix; // an API may grant actions of other prefixes (iam:PassRole)
    let resource = match g.resource.as_deref() {
        None | Some("*") => ResourceSpec::Star,
        Some(r) if r.contains(':') || r.starts_with('{') => ResourceSpec::Template {
            template: Template::parse(r)?,
            generalise: None,
            arn_forms: Vec::new(),
        },
        Some(r) => {
            let t = resources
                .get(r)
                .ok_or_else(|| format!("unknown resource `{r}`"))?;
            ResourceSpec::Template {
                template: t.template.clone(),
                generalise: t.generalise.clone(),
                arn_forms: t.arn_forms.clone(),
            }
        }
    };
    let mut bind = Vec::new();
    for (var, b) in g.bind {
        bind.push((
            var.clone(),
            compile_binding(b).map_err(|m| format!("bind `{var}`: {m}"))?,
        ));
    }
    let mut condition = Vec::new();
    for (op, keys) in g.condition.unwrap_or_default() {
        for (key, values) in keys {
            let mut tpls = Vec::new();
            for v in values.into_vec() {
                tpls.push(Template::parse(&v)?);
            }
            condition.push((op.clone(), key, tpls));
        }
    }
    // Every variable must be bound or be a context variable.
    let mut needed: Vec<&str> = Vec::new();
    if let ResourceSpec::Template { template, .. } = &resource {
        needed.extend(template.vars());
    }
    for (_, _, tpls) in &condition {
        for t in tpls {
            needed.extend(t.vars());
        }
    }
    for v in needed {
        if !is_context_var(v) && !bind.iter().any(|(b, _)| b == v) {
            return Err(format!("variable `{{{v}}}` is not bound"));
        }
    }
    let each = match g.each {
        Some(e) => Some(Path::parse(&e, true)?),
        None => None,
    };
    let mut context = Vec::new();
    for (key, path) in g.context.unwrap_or_default() {
        if !is_condition_key(&key) {
            return Err(format!("context: `{key}` is not an IAM condition key"));
        }
        context.push((
            key,
            Path::parse(&path, false).map_err(|m| format!("context: {m}"))?,
        ));
    }
    Ok(Grant {
        action: g.action,
        resource,
        bind,
        if_: g
            .if_
            .map(RawConditions::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(compile_condition)
            .collect::<std::result::Result<_, _>>()
            .map_err(|m| format!("if: {m}"))?,
        unless: g
            .unless
            .map(RawConditions::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(compile_condition)
            .collect::<std::result::Result<_, _>>()
            .map_err(|m| format!("unless: {m}"))?,
        each,
        condition,
        context,
        broadened: g.broadened,
        hint: g.hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curated_operation_finds_its_dependent_actions_by_its_normalised_name_as_by_its_own() {
        // Every curated operation of every API with a catalog, by the name the rules give it,
        // and the same names in the spellings callers use (the look-up that normalises).
        let rules = Rules::builtin();
        let (mut checked, mut with) = (0, 0);
        for api in &rules.apis {
            let Some(catalog) = api.catalog.as_deref().map(|c| c.ops()) else {
                continue;
            };
            for (name, (_, norm)) in &api.ops().exact_operations {
                let want = catalog.dependent_of(name).map(|d| d as *const Dependent);
                let got = catalog
                    .dependent_of_normalized(name, norm)
                    .map(|d| d as *const Dependent);
                assert_eq!(got, want, "{}: {name}", api.prefix);
                let command = format!("{name}Command");
                let as_command = catalog
                    .dependent_of(&command)
                    .map(|d| d as *const Dependent);
                assert_eq!(as_command, want, "{}: {command}", api.prefix);
                checked += 1;
                with += usize::from(want.is_some());
            }
        }
        assert!(checked > 1_000, "{checked}");
        assert!(
            with > 10,
            "{with} curated operations with dependent actions"
        );
    }

    #[test]
    fn builtin_rules_load() {
        Rules::check_builtin().unwrap();
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalize_service_name("S3Client"), "s3");
        assert_eq!(
            normalize_service_name("DynamoDB Streams"),
            "dynamodbstreams"
        );
        assert_eq!(normalize_operation(":GetObject"), "getobject");
        assert_eq!(normalize_operation("GetObjectCommand"), "getobjectcommand");
        let mut ops = HashMap::default();
        ops.insert("sendcommand".to_owned(), 1);
        ops.insert("getobject".to_owned(), 2);
        assert_eq!(
            find_operation(&ops, "SendCommand").map(|(v, _)| *v),
            Some(1)
        );
        assert_eq!(
            find_operation(&ops, "SendCommandCommand").map(|(v, _)| *v),
            Some(1)
        );
        assert_eq!(
            find_operation(&ops, "send_command").map(|(v, _)| *v),
            Some(1)
        );
        assert_eq!(
            find_operation(&ops, "GetObjectCommand").map(|(v, _)| *v),
            Some(2)
        );
        assert_eq!(find_operation(&ops, "Command").map(|(v, _)| *v), None);
        assert_eq!(pascal_operation("get_object"), "GetObject");
        assert_eq!(pascal_operation("GetObjectCommand"), "GetObject");
    }

    #[test]
    fn condition_lists_of_paths_are_lists() {
        let rules = |cond: &str| {
            RulesBuilder::new()
                .without_builtin()
                .add_str(
                    "c.json",
                    format!(r#"{{"service": "x", "operations": {{"Op": {{"grants": [{{"action": "x:Op", "if": {cond}}}]}}}}}}"#),
                )
                .build()
        };
        let r = rules(r#"["Tags", "EventBusName"]"#).unwrap();
        let api = r.api_of("x").unwrap();
        let Operation::Grants(g) = api.ops().operations["op"].as_ref() else {
            panic!("grants")
        };
        assert_eq!(g[0].if_.len(), 2);
        assert_eq!(g[0].if_[1].binding.path.text, "EventBusName");
        assert!(rules(r#"[["Tags"]]"#).is_err());
    }

    #[test]
    fn bad_rules_are_rejected_with_the_file() {
        let err = RulesBuilder::new()
            .without_builtin()
            .add_str("x.json", r#"{"service": "s3", "operations": {"A": {"grants": [{"action": "s3:A", "resource": "arn:{partition}:s3:::{bucket}"}]}}}"#)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rules);
        assert_eq!(err.path(), Some("x.json"));
        assert!(err.message().contains("not bound"), "{err}");
        let err = RulesBuilder::new()
            .without_builtin()
            .add_str("y.json", "{\"service\": \"s3\",\n \"operations\": 3}")
            .build()
            .unwrap_err();
        assert_eq!(err.line(), Some(2));
    }
}
