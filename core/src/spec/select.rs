//! [`Selection`]: which parts of a request's parameters the rules for one operation read.
//!
//! A binding that converts request parameters from its own language (Python dicts, JS objects)
//! uses it to convert only those parts: payloads (an S3 `Body`, an SQS `MessageBody`, a DynamoDB
//! `Item`, a `SecretString`) are then never read, copied or converted, and recording is cheaper.
//! Applying a selection never changes what the engine derives.

use super::path::Step;
use super::{Binding, Condition, Operation, Rules, find_operation};
use crate::call::Value;
use serde_json::Map;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The parts of a request's parameters that the rules for one operation read: a tree of member
/// names, list elements (`[]`) and map values (`*`).
///
/// ```
/// use leastpriv::Rules;
/// let rules = Rules::builtin();
/// let sel = rules.selection("s3", "PutObject");
/// let params = serde_json::json!({"Bucket": "b", "Key": "k", "Body": "a large payload"});
/// let kept = sel.apply(&params);
/// assert_eq!(kept["Bucket"], "b");
/// assert!(kept.get("Body").is_none());
/// assert!(rules.selection("nosuchservice", "GetThing").is_empty());
/// assert!(rules.selection("s3", "NoSuchOperation").is_whole());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    whole: bool,
    present: bool,
    members: BTreeMap<String, Selection>,
    elements: Option<Box<Selection>>,
    values: Option<Box<Selection>>,
}

/// How a path's final value is used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Read: as text, by a transform, compared.
    Whole,
    /// Only asked whether it is there (not null).
    Present,
}

impl Selection {
    /// `true` when nothing of the request is read.
    pub fn is_empty(&self) -> bool {
        !self.whole
            && !self.present
            && self.members.is_empty()
            && self.elements.is_none()
            && self.values.is_none()
    }

    /// The value at this place is read as a whole (convert all of it).
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// Whether the value at this place is present (not null) matters. When nothing else is
    /// selected here, any non-null stand-in (`true`) serves.
    pub fn is_present(&self) -> bool {
        self.present
    }

    /// The selection for a member of a map, if that member is read.
    pub fn member(&self, name: &str) -> Option<&Selection> {
        self.members.get(name)
    }

    /// The members read, by name.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Selection)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The selection for each element of a list (`[]`). A value that is not a list counts as
    /// a one-element list: the selection then applies to the value itself too.
    pub fn elements(&self) -> Option<&Selection> {
        self.elements.as_deref()
    }

    /// The selection for every value of a map (`*`, keys kept).
    pub fn values(&self) -> Option<&Selection> {
        self.values.as_deref()
    }

    /// What the rules can read of `params`, and nothing else: unread members are left out,
    /// values only tested for presence become `true`.
    pub fn apply(&self, params: &Value) -> Value {
        apply_all(&[self], params)
    }

    fn insert(&mut self, steps: &[Step], use_: Use) {
        let Some((step, rest)) = steps.split_first() else {
            match use_ {
                Use::Whole => self.whole = true,
                Use::Present => self.present = true,
            }
            return;
        };
        let next = match step {
            Step::Member(m) => self.members.entry(m.clone()).or_default(),
            Step::Elements => self.elements.get_or_insert_with(Box::default),
            Step::Values => self.values.get_or_insert_with(Box::default),
        };
        next.insert(rest, use_);
    }
}

/// Applies several selections that all hold for the same value.
fn apply_all(sels: &[&Selection], v: &Value) -> Value {
    let mut set: Vec<&Selection> = sels.to_vec();
    if !v.is_array() && !v.is_null() {
        // `[]` on a value that is not a list walks the value itself.
        let mut i = 0;
        while i < set.len() {
            if let Some(e) = set[i].elements.as_deref() {
                set.push(e);
            }
            i += 1;
        }
    }
    if set.iter().any(|s| s.whole) {
        return v.clone();
    }
    match v {
        Value::Null => Value::Null,
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, x) in map {
                let subs: Vec<&Selection> = set
                    .iter()
                    .filter_map(|s| s.members.get(k.as_str()))
                    .chain(set.iter().filter_map(|s| s.values.as_deref()))
                    .collect();
                if !subs.is_empty() {
                    out.insert(k.clone(), apply_all(&subs, x));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements.as_deref()).collect();
            if subs.is_empty() {
                // Nothing reads into it: an empty list is just as present and just as unreadable.
                return Value::Array(Vec::new());
            }
            Value::Array(items.iter().map(|x| apply_all(&subs, x)).collect())
        }
        // A scalar where a map was expected, or one only tested for presence.
        _ => Value::Bool(true),
    }
}

/// The selections that hold for a value: `sels`, and when the value is not a list (nor null)
/// what their `[]` select too, since `[]` on a value that is not a list walks the value itself.
/// Borrowed when there is nothing to add (the common case).
pub(crate) fn expand<'a, 's>(
    sels: &'a [&'s Selection],
    walk_elements: bool,
) -> std::borrow::Cow<'a, [&'s Selection]> {
    if !walk_elements || sels.iter().all(|s| s.elements().is_none()) {
        return std::borrow::Cow::Borrowed(sels);
    }
    let mut set = sels.to_vec();
    let mut i = 0;
    while i < set.len() {
        if let Some(e) = set[i].elements() {
            set.push(e);
        }
        i += 1;
    }
    std::borrow::Cow::Owned(set)
}

/// The selections that apply below a value: none, one (the common case, borrowed), or several.
pub(crate) enum Subs<'s> {
    None,
    One(&'s Selection),
    Many(Vec<&'s Selection>),
}

impl<'s> Subs<'s> {
    /// What `set` reads of a map's member `name` (its member selections and value selections).
    pub(crate) fn member(set: &[&'s Selection], name: &str) -> Subs<'s> {
        // One selection (the common case): its member's, then its values'.
        if let [s] = set {
            return match (s.member(name), s.values()) {
                (None, None) => Subs::None,
                (Some(one), None) | (None, Some(one)) => Subs::One(one),
                (Some(m), Some(v)) => Subs::Many(vec![m, v]),
            };
        }
        let mut out = Subs::None;
        let found = set
            .iter()
            .filter_map(|s| s.member(name))
            .chain(set.iter().filter_map(|s| s.values()));
        for s in found {
            out = match out {
                Subs::None => Subs::One(s),
                Subs::One(a) => Subs::Many(vec![a, s]),
                Subs::Many(mut v) => {
                    v.push(s);
                    Subs::Many(v)
                }
            };
        }
        out
    }

    pub(crate) fn as_slice(&self) -> &[&'s Selection] {
        match self {
            Subs::None => &[],
            Subs::One(s) => std::slice::from_ref(s),
            Subs::Many(v) => v,
        }
    }
}

/// What a value of another language is (see [`NativeValue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeKind {
    /// `None`, `null`, `undefined`.
    Null,
    /// Text, a number or a boolean: converted by [`NativeValue::scalar`].
    Scalar,
    /// A list (a Python list or tuple, a JavaScript array).
    List,
    /// A map with text keys (a Python dict, a plain JavaScript object).
    Map,
    /// Anything else (bytes, streams, dates, functions): never read.
    Opaque,
}

/// A value of another language (a Python dict, a JavaScript object) as the core reads it: the
/// bindings say what each value is, and the core walks it ([`Selection::select`],
/// [`native_to_value`]), so that every language converts request parameters the same way.
pub trait NativeValue: Sized {
    /// What the value is.
    fn kind(&self) -> NativeKind;
    /// A scalar's value (text, a number kept exactly where JSON can, a boolean).
    fn scalar(&self) -> Value;
    /// A list's elements.
    fn elements(&self) -> Vec<Self>;
    /// A map's member of that name, if there is one.
    fn member(&self, name: &str) -> Option<Self>;
    /// A map's members with text keys, in order (members with other keys are left out).
    fn members(&self) -> Vec<(String, Self)>;
}

/// How deep native containers are followed (and so no cycle can loop): request parameters that
/// name resources are shallow.
pub const NATIVE_DEPTH: u32 = 32;

/// How many native values one conversion visits at most: more (a very wide cyclic structure) is
/// an error, never a silent truncation.
pub const NATIVE_NODES: usize = 1_000_000;

fn too_many() -> crate::error::Error {
    crate::error::Error::new(
        crate::error::ErrorKind::Usage,
        format!("more than {NATIVE_NODES} values to convert (a cyclic or very large structure)"),
    )
    .with_field("params")
}

/// A native value converted whole: maps and lists followed down to [`NATIVE_DEPTH`], opaque
/// values left out (a map's member) or `null` (a list's element); `None` when the value itself
/// is opaque or too deep. More than [`NATIVE_NODES`] values is a usage error.
pub fn native_to_value<N: NativeValue>(n: &N) -> crate::error::Result<Option<Value>> {
    let mut budget = NATIVE_NODES;
    native_at(n, 0, &mut budget)
}

fn native_at<N: NativeValue>(
    n: &N,
    depth: u32,
    budget: &mut usize,
) -> crate::error::Result<Option<Value>> {
    *budget = budget.checked_sub(1).ok_or_else(too_many)?;
    Ok(match n.kind() {
        NativeKind::Null => Some(Value::Null),
        NativeKind::Scalar => Some(n.scalar()),
        NativeKind::Opaque => None,
        _ if depth >= NATIVE_DEPTH => None,
        NativeKind::List => {
            let mut out = Vec::new();
            for x in n.elements() {
                out.push(native_at(&x, depth + 1, budget)?.unwrap_or(Value::Null));
            }
            Some(Value::Array(out))
        }
        NativeKind::Map => {
            let mut out = Map::new();
            for (k, v) in n.members() {
                if let Some(v) = native_at(&v, depth + 1, budget)? {
                    out.insert(k, v);
                }
            }
            Some(Value::Object(out))
        }
    })
}

impl Selection {
    /// What the rules can read of a native value (a binding's request parameters), converted,
    /// as [`Selection::apply`] reduces a converted one: unread members are never looked at,
    /// values only tested for presence become `true`. `None` when nothing convertible is read;
    /// more than [`NATIVE_NODES`] values visited is a usage error.
    pub fn select<N: NativeValue>(&self, n: &N) -> crate::error::Result<Option<Value>> {
        let mut budget = NATIVE_NODES;
        select_native(&[self], n, 0, &mut budget)
    }
}

fn select_native<N: NativeValue>(
    sels: &[&Selection],
    n: &N,
    depth: u32,
    budget: &mut usize,
) -> crate::error::Result<Option<Value>> {
    if depth >= NATIVE_DEPTH {
        return Ok(None);
    }
    let kind = n.kind();
    let set = expand(sels, !matches!(kind, NativeKind::List | NativeKind::Null));
    if set.iter().any(|s| s.is_whole()) {
        return native_at(n, depth, budget);
    }
    *budget = budget.checked_sub(1).ok_or_else(too_many)?;
    Ok(match kind {
        NativeKind::Null => Some(Value::Null),
        NativeKind::Map => {
            let mut out = Map::new();
            let mut members: Vec<(String, N)> = Vec::new();
            if set.iter().any(|s| s.values().is_some()) {
                members = n.members();
            } else {
                // Only the members read are looked up: payloads are never touched.
                let mut names: Vec<&str> = set
                    .iter()
                    .flat_map(|s| s.members.keys())
                    .map(String::as_str)
                    .collect();
                names.sort_unstable();
                names.dedup();
                for name in names {
                    if let Some(v) = n.member(name) {
                        members.push((name.to_owned(), v));
                    }
                }
            }
            for (name, v) in members {
                let subs = Subs::member(&set, &name);
                if !subs.as_slice().is_empty()
                    && let Some(x) = select_native(subs.as_slice(), &v, depth + 1, budget)?
                {
                    out.insert(name, x);
                }
            }
            Some(Value::Object(out))
        }
        NativeKind::List => {
            let subs: Vec<&Selection> = set.iter().filter_map(|s| s.elements()).collect();
            if subs.is_empty() {
                // Nothing reads into it: an empty list is just as present and just as unreadable.
                return Ok(Some(Value::Array(Vec::new())));
            }
            let mut out = Vec::new();
            for x in n.elements() {
                out.push(select_native(&subs, &x, depth + 1, budget)?.unwrap_or(Value::Null));
            }
            Some(Value::Array(out))
        }
        // A scalar where a map was expected, or a value (even a payload object) only tested for
        // presence: present, and never read.
        NativeKind::Scalar | NativeKind::Opaque => Some(Value::Bool(true)),
    })
}

fn add_path(sel: &mut Selection, base: &[Step], path: &super::Path, use_: Use) {
    let Some((from_root, steps)) = path.request_steps() else {
        return; // `@key`, `@endpoint`, `@region`, `@account`: no request member
    };
    if from_root {
        sel.insert(steps, use_);
    } else {
        let mut all = base.to_vec();
        all.extend_from_slice(steps);
        sel.insert(&all, use_);
    }
}

fn add_binding(sel: &mut Selection, base: &[Step], b: &Binding) {
    add_path(sel, base, &b.path, Use::Whole);
}

fn add_condition(sel: &mut Selection, base: &[Step], c: &Condition) {
    // As the engine's `holds`: without a comparison, transform or ARN, only presence counts.
    let presence = c.equals.is_none()
        && c.matches.is_none()
        && c.binding.transform.is_none()
        && c.binding.arn.is_none();
    let use_ = if presence { Use::Present } else { Use::Whole };
    add_path(sel, base, &c.binding.path, use_);
}

impl Rules {
    /// What the rules for `operation` of `service` read of a request's parameters: empty for
    /// an unknown service or a permissionless operation; everything for an operation without a
    /// curated rule.
    ///
    /// Worked out once per (service, operation) and shared: a recorder asks for every call.
    pub fn selection(&self, service: &str, operation: &str) -> Arc<Selection> {
        let cache = &self.selections.0;
        if let Ok(map) = cache.read()
            && let Some(s) = map.get(&(service.to_owned(), operation.to_owned()))
        {
            return Arc::clone(s);
        }
        let sel = Arc::new(self.compute_selection(service, operation));
        if let Ok(mut map) = cache.write() {
            // Bounded: names come from callers (a recorder's record()).
            if map.len() >= 8192 {
                map.clear();
            }
            map.insert((service.to_owned(), operation.to_owned()), Arc::clone(&sel));
        }
        sel
    }

    /// As [`Rules::selection`], a copy of its own for one reader, which hands it out for every
    /// call: the shared one's count would be changed by every job's thread, and pass from core
    /// to core each time (the jobs of `--jobs 2` spent ~10% of their time so).
    pub(crate) fn selection_for_reader(&self, service: &str, operation: &str) -> Arc<Selection> {
        Arc::new(Selection::clone(&self.selection(service, operation)))
    }

    fn compute_selection(&self, service: &str, operation: &str) -> Selection {
        let mut sel = Selection::default();
        let Some(api) = self.api_of(service) else {
            return sel; // an unknown service: `prefix:Operation` on `*`, nothing read
        };
        // The curated rules, looked up as `derive_into` does.
        let op = api
            .ops()
            .exact_operations
            .get(operation)
            .map(|(op, _)| op)
            .or_else(|| find_operation(&api.ops().operations, operation).map(|(op, _)| op));
        // Without a curated rule, the generated catalog's rule, as `derive_into` falls back.
        let catalog_op = match (op, &api.catalog) {
            (None, Some(catalog)) => {
                let ops = catalog.ops();
                if find_operation(&ops.unmatched, operation).is_some() {
                    return sel; // no permission is emitted: nothing is read
                }
                find_operation(&ops.operations, operation).map(|(o, _)| &o.operation)
            }
            _ => None,
        };
        let grants = match op.map(|o| o.as_ref()).or(catalog_op) {
            Some(Operation::Grants(grants)) => grants,
            Some(Operation::None(_)) => return sel, // permissionless
            None => {
                // No rule at all: the fallback may read anything.
                sel.whole = true;
                return sel;
            }
        };
        let dependent = api
            .catalog
            .as_deref()
            .and_then(|c| c.ops().dependent_of(operation))
            .map(|d| d.grants.as_slice())
            .unwrap_or_default();
        for g in grants.iter().chain(dependent) {
            let base: Vec<Step> = match &g.each {
                Some(each) => {
                    // Every element the iteration reaches counts, whatever is read of it.
                    add_path(&mut sel, &[], each, Use::Present);
                    match each.request_steps() {
                        Some((_, steps)) => steps.to_vec(),
                        None => Vec::new(),
                    }
                }
                None => Vec::new(),
            };
            for (_, b) in &g.bind {
                add_binding(&mut sel, &base, b);
            }
            for c in g.if_.iter().chain(&g.unless) {
                add_condition(&mut sel, &base, c);
            }
            for (_, path) in &g.context {
                add_path(&mut sel, &base, path, Use::Whole);
            }
        }
        sel
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Call, derive};
    use serde_json::json;

    fn same(service: &str, operation: &str, params: Value) {
        let rules = Rules::builtin();
        let sel = rules.selection(service, operation);
        let full = Call::new(service, operation, params.clone());
        let kept = Call::new(service, operation, sel.apply(&params));
        assert_eq!(
            derive(&rules, &full),
            derive(&rules, &kept),
            "{service} {operation}: {sel:?}"
        );
    }

    #[test]
    fn catalog_operations_read_only_what_their_generated_rule_reads() {
        let rules = Rules::builtin();
        let params = json!({"RoleName": "app", "Description": "payload"});
        let kept = rules.selection("iam", "GetRole").apply(&params);
        assert_eq!(kept, json!({"RoleName": "app"}));
        same("iam", "GetRole", params);
    }

    #[test]
    fn payloads_are_left_out() {
        let rules = Rules::builtin();
        let kept = rules.selection("sqs", "SendMessage").apply(&json!({
            "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            "MessageBody": "secret"}));
        assert_eq!(
            kept,
            json!({"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q"})
        );
        let kept =
            rules
                .selection("dynamodb", "TransactWriteItems")
                .apply(&json!({"TransactItems": [
                {"Put": {"TableName": "a", "Item": {"secret": {"S": "x"}}}},
                {"Delete": {"TableName": "b", "Key": {"id": {"S": "y"}}}}]}));
        assert!(!kept.to_string().contains("secret"), "{kept}");
        assert!(!kept.to_string().contains("\"y\""), "{kept}");
        assert!(rules.selection("nosuchservice", "X").is_empty());
        assert!(rules.selection("sts", "GetCallerIdentity").is_empty());
        assert!(rules.selection("s3", "NoSuchOperation").is_whole());
    }

    #[test]
    fn dependent_actions_read_what_they_need() {
        let rules = Rules::builtin();
        let params = json!({"TrainingJobName": "tj", "RoleArn": "arn:aws:iam::123456789012:role/x",
                            "HyperParameters": {"secret": "payload"},
                            "Tags": [{"Key": "k", "Value": "v"}]});
        let kept = rules
            .selection("sagemaker", "CreateTrainingJob")
            .apply(&params);
        assert_eq!(kept["RoleArn"], "arn:aws:iam::123456789012:role/x");
        assert!(kept.get("Tags").is_some());
        assert!(!kept.to_string().contains("payload"), "{kept}");
        same("sagemaker", "CreateTrainingJob", params);
        same(
            "ecs",
            "RunTask",
            json!({"taskDefinition": "web:3", "overrides": {"taskRoleArn": "arn:aws:iam::1:role/t",
                   "containerOverrides": [{"environment": [{"name": "K", "value": "secret"}]}]}}),
        );
        same(
            "ec2",
            "RunInstances",
            json!({"ImageId": "resolve:ssm:/aws/service/ami", "IamInstanceProfile": {"Name": "p"},
                   "TagSpecifications": [{"ResourceType": "instance", "Tags": []}], "UserData": "x"}),
        );
        same(
            "rds",
            "CreateDBInstance",
            json!({"DBInstanceIdentifier": "db", "KmsKeyId": "alias/k", "MasterUserPassword": "pw",
                   "Tags": [{"Key": "a", "Value": "b"}]}),
        );
    }

    /// A JSON value read as a native one, to hold the native walk to `apply`.
    #[derive(Clone)]
    struct J(Value);

    impl NativeValue for J {
        fn kind(&self) -> NativeKind {
            match &self.0 {
                Value::Null => NativeKind::Null,
                Value::Array(_) => NativeKind::List,
                Value::Object(_) => NativeKind::Map,
                _ => NativeKind::Scalar,
            }
        }
        fn scalar(&self) -> Value {
            self.0.clone()
        }
        fn elements(&self) -> Vec<J> {
            self.0
                .as_array()
                .into_iter()
                .flatten()
                .cloned()
                .map(J)
                .collect()
        }
        fn member(&self, name: &str) -> Option<J> {
            self.0.get(name).cloned().map(J)
        }
        fn members(&self) -> Vec<(String, J)> {
            self.0
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), J(v.clone())))
                .collect()
        }
    }

    #[test]
    fn the_native_walk_reads_what_apply_keeps() {
        let rules = Rules::builtin();
        let cases = [
            (
                "s3",
                "CopyObject",
                json!({"Bucket": "b", "Key": "k", "CopySource": {"Bucket": "s", "Key": "x"}, "Body": "p"}),
            ),
            (
                "dynamodb",
                "BatchWriteItem",
                json!({"RequestItems": {"a": [{"PutRequest": {"Item": {"s": {"S": "x"}}}}], "b": []}}),
            ),
            (
                "dynamodb",
                "TransactWriteItems",
                json!({"TransactItems": [{"Put": {"TableName": "a", "Item": {}}}, {"ConditionCheck": "odd"}, 3, null]}),
            ),
            (
                "sqs",
                "SendMessageBatch",
                json!({"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q", "Entries": [{}, {"MessageBody": "x"}]}),
            ),
            (
                "ec2",
                "RunInstances",
                json!({"ImageId": "ami-1", "IamInstanceProfile": {"Name": "p"}, "TagSpecifications": [{"ResourceType": "instance"}], "UserData": "x"}),
            ),
            (
                "s3",
                "NoSuchOperation",
                json!({"Anything": [1, {"a": null}]}),
            ),
            ("sqs", "SendMessage", json!("not a map")),
        ];
        for (svc, op, params) in cases {
            let sel = rules.selection(svc, op);
            assert_eq!(
                sel.select(&J(params.clone())).unwrap(),
                Some(sel.apply(&params)),
                "{svc} {op}"
            );
        }
        assert_eq!(
            native_to_value(&J(json!({"a": [1, null]}))).unwrap(),
            Some(json!({"a": [1, null]}))
        );
    }

    /// A map holding itself under many names: followed only so deep, and no further than the
    /// budget of values allows.
    #[derive(Clone)]
    struct Wide;

    impl NativeValue for Wide {
        fn kind(&self) -> NativeKind {
            NativeKind::Map
        }
        fn scalar(&self) -> Value {
            Value::Null
        }
        fn elements(&self) -> Vec<Wide> {
            Vec::new()
        }
        fn member(&self, _: &str) -> Option<Wide> {
            Some(Wide)
        }
        fn members(&self) -> Vec<(String, Wide)> {
            (0..10).map(|i| (format!("k{i}"), Wide)).collect()
        }
    }

    #[test]
    fn a_wide_cycle_is_an_error_not_a_hang() {
        let e = native_to_value(&Wide).unwrap_err();
        assert_eq!(
            (e.kind(), e.field()),
            (crate::ErrorKind::Usage, Some("params"))
        );
    }

    #[test]
    fn derivation_is_unchanged() {
        same(
            "s3",
            "GetObject",
            json!({"Bucket": "b", "Key": "k", "VersionId": "v"}),
        );
        same(
            "s3",
            "CopyObject",
            json!({"Bucket": "b", "Key": "k", "CopySource": {"Bucket": "s", "Key": "x"}}),
        );
        same(
            "dynamodb",
            "BatchWriteItem",
            json!({"RequestItems": {"a": [{"PutRequest": {"Item": {}}}], "b": []}}),
        );
        same(
            "dynamodb",
            "TransactWriteItems",
            json!({"TransactItems": [{"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}},
                                     {"ConditionCheck": "odd"}, 3]}),
        );
        same(
            "sqs",
            "SendMessageBatch",
            json!({"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q", "Entries": [{}, {}]}),
        );
        same(
            "kms",
            "Encrypt",
            json!({"KeyId": "alias/orders", "Plaintext": "x"}),
        );
        same(
            "dynamodb",
            "ExecuteStatement",
            json!({"Statement": "SELECT * FROM \"orders\".\"by-customer\""}),
        );
    }
}
