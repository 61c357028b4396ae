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
    pub fn selection(&self, service: &str, operation: &str) -> Selection {
        let mut sel = Selection::default();
        let Some(api) = self.api_of(service) else {
            return sel; // an unknown service: `prefix:Operation` on `*`, nothing read
        };
        // The curated rules, looked up as `derive_into` does.
        let op = api
            .ops()
            .exact_operations
            .get(operation)
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
