//! The engine: applies the rules to a [`Call`] and yields [`Permission`]s and [`Diagnostic`]s.

use crate::arn::{Arn, Field, Resource, ResourceBuilder, SegRef, partition_of_region};
use crate::call::{Call, Value};
use crate::spec::{
    Binding, CatalogOp, Condition, Dependent, Elem, Grant, Operation, Piece, ResourceSpec, Rules,
    Template, TplPart, find_operation, is_context_var, normalize_service_name, pascal_operation,
};

pub use crate::permission::{
    ConditionBlock, Derived, Diagnostic, DiagnosticKind, Permission, RequestContext, check_action,
};

/// Applies `rules` to `call`.
///
/// ```
/// use leastpriv::{derive, Call, Rules};
/// let mut call = Call::new("s3", "ListObjectsV2", serde_json::json!({"Bucket": "reports"}));
/// call.region = Some("eu-west-1".into());
/// let d = derive(&Rules::builtin(), &call);
/// assert_eq!(d.permissions[0].action, "s3:ListBucket");
/// assert_eq!(d.permissions[0].resource.to_iam(), "arn:aws:s3:::reports");
/// ```
pub fn derive(rules: &Rules, call: &Call) -> Derived {
    let mut out = Derived::default();
    derive_into(rules, call, &mut out);
    out
}

/// Like [`derive`], appending to `out`.
pub fn derive_into(rules: &Rules, call: &Call, out: &mut Derived) {
    let start = out.permissions.len();
    derive_call(rules, call, out);
    if call.outcome.is_denied() {
        denied(call, start, out);
    }
}

/// A `denied` note for each action of a refused call.
fn denied(call: &Call, start: usize, out: &mut Derived) {
    let code = match &call.outcome {
        // An error code is an identifier; anything else in it is dropped, never echoed.
        crate::call::Outcome::Error { code: Some(c) } => c
            .chars()
            .filter(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | ':'))
            .take(128)
            .collect::<String>(),
        _ => return,
    };
    let mut actions: Vec<&str> = out.permissions[start..]
        .iter()
        .map(|p| p.action.as_str())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    let notes: Vec<Diagnostic> = actions
        .into_iter()
        .map(|a| Diagnostic {
            kind: DiagnosticKind::Denied,
            service: a.split(':').next().unwrap_or_default().to_owned(),
            operation: pascal_operation(&call.operation),
            message: format!(
                "refused with `{code}`: the caller lacked `{a}` there, or a policy denied it"
            ),
            action: Some(a.to_owned()),
            hint: None,
        })
        .collect();
    out.diagnostics.extend(notes);
}

fn derive_call(rules: &Rules, call: &Call, out: &mut Derived) {
    if let Some(region) = &call.region {
        out.context
            .insert("aws:RequestedRegion".to_owned(), Some(region.clone()));
    }
    let Some(api) = rules.api_of(&call.service) else {
        let prefix = normalize_service_name(&call.service);
        let op_display = pascal_operation(&call.operation);
        out.diagnostics.push(Diagnostic {
            kind: DiagnosticKind::UnknownService,
            service: prefix.clone(),
            operation: op_display.clone(),
            message: format!(
                "service `{}` is not known; `{prefix}` used as its IAM prefix",
                call.service
            ),
            action: Some(format!("{prefix}:{op_display}")),
            hint: None,
        });
        fallback(&prefix, &op_display, out);
        return;
    };
    let catalog = api.catalog.as_deref().map(|c| c.ops());
    let exact = api.ops().exact_operations.get(call.operation.as_str());
    let op = exact
        .map(|(op, _)| op)
        .or_else(|| find_operation(&api.ops().operations, &call.operation).map(|(op, _)| op));
    let grants = match op {
        Some(op) => match op.as_ref() {
            Operation::None(why) => {
                permissionless(&api.prefix, &pascal_operation(&call.operation), why, out);
                return;
            }
            Operation::Grants(grants) => {
                grant_all(grants, call, &api.prefix, out);
                grants
            }
        },
        None => {
            let Some(ops) = catalog else {
                fallback(&api.prefix, &pascal_operation(&call.operation), out);
                return;
            };
            if let Some((op, _)) = find_operation(&ops.operations, &call.operation) {
                match generated(op, call, &api.prefix, out) {
                    Some(grants) => grants,
                    None => return,
                }
            } else {
                match find_operation(&ops.unmatched, &call.operation) {
                    Some(((name, why), _)) => out.diagnostics.push(Diagnostic {
                        kind: DiagnosticKind::UnmappedOperation,
                        service: api.prefix.clone(),
                        operation: name.clone(),
                        message: format!(
                            "no rule for this operation and {why}; no permission emitted (add a rule)"
                        ),
                        action: None,
                        hint: None,
                    }),
                    None => fallback(&api.prefix, &pascal_operation(&call.operation), out),
                }
                return;
            }
        }
    };
    // A curated operation found by its exact name has its normalised name at hand.
    let dep = catalog.and_then(|ops| match exact {
        Some((_, norm)) => ops.dependent_of_normalized(&call.operation, norm),
        None => ops.dependent_of(&call.operation),
    });
    if let Some(dep) = dep {
        dependent(dep, grants, call, &api.prefix, out);
    }
}

fn permissionless(prefix: &str, operation: &str, why: &str, out: &mut Derived) {
    out.diagnostics.push(Diagnostic {
        kind: DiagnosticKind::Permissionless,
        service: prefix.to_owned(),
        operation: operation.to_owned(),
        message: why.to_owned(),
        action: None,
        hint: None,
    });
}

/// Applies an operation's own grants. When none of them applies to the request (the members
/// they read are all absent), the operation still needs its action: it is granted on `*`, with a
/// `wildcard` diagnostic, rather than nothing at all. Unconditional grants name the action; only
/// when every grant is conditional do all their actions stand in.
fn grant_all(grants: &[Grant], call: &Call, prefix: &str, out: &mut Derived) {
    let start = out.permissions.len();
    for g in grants {
        apply_grant(g, call, prefix, out);
    }
    if out.permissions.len() > start || grants.is_empty() {
        return;
    }
    // The unconditional grants, each once more without its elements (an empty `DeleteObjects`
    // still deletes in its bucket); if that too gives nothing, or every grant is conditional,
    // their actions on `*`.
    let unconditional: Vec<&Grant> = grants.iter().filter(|g| g.if_.is_empty()).collect();
    for g in &unconditional {
        if g.each.is_some() && g.unless.is_empty() {
            apply_grant_to(g, call, prefix, out, true, false);
        }
    }
    if out.permissions.len() > start {
        return;
    }
    let mut actions: Vec<&str> = Vec::new();
    for g in grants {
        if (unconditional.is_empty() || g.if_.is_empty()) && !actions.contains(&g.action.as_str()) {
            actions.push(&g.action);
        }
    }
    for action in actions {
        out.diagnostics.push(Diagnostic {
            kind: DiagnosticKind::Wildcard,
            service: prefix.to_owned(),
            operation: pascal_operation(&call.operation),
            message: format!("`{action}`: the request lacks every member the rule reads; `*` used"),
            action: Some(action.to_owned()),
            hint: None,
        });
        out.permissions.push(Permission {
            action: action.to_owned(),
            resource: Resource::star(),
            condition: None,
        });
    }
}

/// Applies an operation's dependent actions: each grant whose action the operation does not
/// grant itself, and a `dependent` diagnostic naming what may be needed besides.
fn dependent(dep: &Dependent, own: &[Grant], call: &Call, prefix: &str, out: &mut Derived) {
    let owns = |action: &str| own.iter().any(|g| g.action == action);
    for g in &dep.grants {
        if !owns(&g.action) {
            apply_grant(g, call, prefix, out);
        }
    }
    let need: Vec<&str> = dep
        .may_need
        .iter()
        .map(String::as_str)
        .filter(|a| !owns(a))
        .collect();
    let Some(primary) = own.first() else { return };
    if need.is_empty() {
        return;
    }
    out.diagnostics.push(Diagnostic {
        kind: DiagnosticKind::Dependent,
        service: prefix.to_owned(),
        operation: pascal_operation(&call.operation),
        message: format!(
            "`{}` may also need `{}` (dependent actions in the Service Authorization Reference \
             that the request does not show a need for); not granted",
            primary.action,
            need.join("`, `")
        ),
        action: Some(primary.action.clone()),
        hint: None,
    });
}

/// An operation mapped by the generated catalog; its grants, or `None` when it needs no
/// permission.
fn generated<'r>(
    op: &'r CatalogOp,
    call: &Call,
    prefix: &str,
    out: &mut Derived,
) -> Option<&'r [Grant]> {
    let grants = match &op.operation {
        Operation::Grants(grants) => grants,
        Operation::None(why) => {
            permissionless(prefix, &op.name, why, out);
            return None;
        }
    };
    let mut actions: Vec<&str> = grants.iter().map(|g| g.action.as_str()).collect();
    actions.dedup();
    let actions_text = actions.join("`, `");
    out.diagnostics.push(Diagnostic {
        kind: DiagnosticKind::Generated,
        service: prefix.to_owned(),
        operation: op.name.clone(),
        message: format!("no curated rule; `{actions_text}` from the generated catalog"),
        action: actions.first().map(|a| (*a).to_owned()),
        hint: None,
    });
    if let Some(why) = &op.why {
        out.diagnostics.push(Diagnostic {
            kind: DiagnosticKind::Wildcard,
            service: prefix.to_owned(),
            operation: op.name.clone(),
            message: format!("`{actions_text}` on `*`: {why}"),
            action: actions.first().map(|a| (*a).to_owned()),
            hint: None,
        });
    }
    grant_all(grants, call, prefix, out);
    Some(grants)
}

fn fallback(prefix: &str, op: &str, out: &mut Derived) {
    let action = format!("{prefix}:{op}");
    out.diagnostics.push(Diagnostic {
        kind: DiagnosticKind::UnmappedOperation,
        service: prefix.to_owned(),
        operation: op.to_owned(),
        message: format!("no rule for this operation; `{action}` on `*` used"),
        action: Some(action.clone()),
        hint: None,
    });
    out.permissions.push(Permission {
        action,
        resource: Resource::star(),
        condition: None,
    });
}

/// A bound variable: its value and the context the value carried with it.
struct Bound {
    piece: Piece,
    partition: Option<String>,
    region: Option<String>,
    account: Option<String>,
    /// The value is a full ARN taken as it is from the request (no transform or `arn` prefix
    /// read it): see [`arn_in_template`].
    whole_arn: bool,
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn nonempty_ref(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn eval_binding(b: &Binding, root: &Value, elem: Elem<'_>, call: &Call) -> Option<Bound> {
    let mut bound = eval_binding_as_given(b, root, elem, call)?;
    if b.lower {
        bound.piece.text = bound.piece.text.to_lowercase();
    }
    Some(bound)
}

fn eval_binding_as_given(b: &Binding, root: &Value, elem: Elem<'_>, call: &Call) -> Option<Bound> {
    let found = b.path.get(root, elem, call);
    let Some(found) = found else {
        return b.default.as_ref().map(|d| Bound {
            piece: Piece {
                text: d.clone(),
                pattern: None,
            },
            partition: None,
            region: None,
            account: None,
            whole_arn: false,
        });
    };
    if let Some(t) = b.transform {
        let parts = t.apply(&found);
        let part = b.part.as_deref().unwrap_or(t.default_part());
        let piece = parts.get(part)?.clone();
        let ctx = |name: &str| parts.get(name).map(|p| p.text.clone());
        return Some(Bound {
            piece,
            partition: ctx("partition"),
            region: ctx("region"),
            account: ctx("account"),
            whole_arn: false,
        });
    }
    let text = found.as_str()?;
    if let Some(prefix) = &b.arn
        && let Some(arn) = Arn::parse(text)
    {
        let rest = arn
            .resource
            .strip_prefix(prefix.as_str())
            .unwrap_or(arn.resource);
        return Some(Bound {
            piece: Piece {
                text: rest.to_owned(),
                pattern: None,
            },
            partition: nonempty(arn.partition),
            region: nonempty(arn.region),
            account: nonempty(arn.account),
            whole_arn: false,
        });
    }
    if text.is_empty() {
        return None;
    }
    // A full ARN where a name or id is expected carries its own context.
    let arn = Arn::parse(text);
    Some(Bound {
        piece: Piece {
            text: text.to_owned(),
            pattern: None,
        },
        partition: arn.as_ref().and_then(|a| nonempty(a.partition)),
        region: arn.as_ref().and_then(|a| nonempty(a.region)),
        account: arn.as_ref().and_then(|a| nonempty(a.account)),
        whole_arn: arn.is_some(),
    })
}

fn holds(c: &Condition, root: &Value, elem: Elem<'_>, call: &Call) -> bool {
    if c.equals.is_none()
        && c.matches.is_none()
        && c.binding.transform.is_none()
        && c.binding.arn.is_none()
    {
        // Presence: any value but null (a map, a list, even an empty one) counts.
        return c.binding.path.get(root, elem, call).is_some();
    }
    match eval_binding(&c.binding, root, elem, call) {
        None => false,
        Some(b) => {
            c.equals
                .as_ref()
                .is_none_or(|vals| vals.iter().any(|v| v.eq_ignore_ascii_case(&b.piece.text)))
                && c.matches.as_ref().is_none_or(|globs| {
                    globs
                        .iter()
                        .any(|g| crate::glob::action_matches(g, &b.piece.text))
                })
        }
    }
}

fn apply_grant(g: &Grant, call: &Call, prefix: &str, out: &mut Derived) {
    // A grant on the request as a whole (no `each`) whose `if`/`unless` rule it out adds
    // nothing: told here, before anything is set up to apply it (most conditional grants of an
    // operation do not apply to a given call).
    if g.each.is_none() && !(g.if_.is_empty() && g.unless.is_empty()) {
        let root = params_of(call);
        let top = Elem {
            value: root,
            key: None,
        };
        if !conditions_hold(g, root, top, call) {
            return;
        }
        apply_grant_to(g, call, prefix, out, false, true);
        return;
    }
    apply_grant_to(g, call, prefix, out, false, false);
}

/// The request's parameters (null: none).
fn params_of(call: &Call) -> &Value {
    static EMPTY: Value = Value::Null;
    if call.params.is_null() {
        &EMPTY
    } else {
        &call.params
    }
}

/// Whether a grant's `if` conditions all hold, and none of its `unless`, for `elem`.
fn conditions_hold(g: &Grant, root: &Value, elem: Elem<'_>, call: &Call) -> bool {
    g.if_.iter().all(|c| holds(c, root, elem, call))
        && !g.unless.iter().any(|c| holds(c, root, elem, call))
}

/// Applies a grant; with `no_elements`, a grant with `each` is applied once to an absent
/// element (what it reads of the element is then `*`, what it reads of the request stays).
/// `checked`: the grant has no `each`, and its conditions were found to hold.
fn apply_grant_to(
    g: &Grant,
    call: &Call,
    prefix: &str,
    out: &mut Derived,
    no_elements: bool,
    checked: bool,
) {
    static EMPTY: Value = Value::Null;
    let root = params_of(call);
    let top = Elem {
        value: root,
        key: None,
    };
    let mut many = Vec::new();
    let one;
    let elems: &[Elem] = match &g.each {
        Some(_) if no_elements => {
            one = [Elem {
                value: &EMPTY,
                key: None,
            }];
            &one
        }
        Some(p) => {
            p.each(root, top, &mut many);
            &many
        }
        None => {
            one = [top];
            &one
        }
    };
    for &elem in elems {
        if !checked && !conditions_hold(g, root, elem, call) {
            continue;
        }
        for (key, path) in &g.context {
            // A member that is a map or a list tells nothing a string condition could test.
            match path.get(root, elem, call) {
                None => {
                    out.context.insert(key.clone(), None);
                }
                Some(v) => {
                    if let Some(text) = v.as_str() {
                        out.context.insert(key.clone(), Some(text.to_owned()));
                    }
                }
            }
        }
        let mut bound: Vec<(&str, Option<Bound>)> = Vec::with_capacity(g.bind.len());
        for (var, b) in &g.bind {
            bound.push((var.as_str(), eval_binding(b, root, elem, call)));
        }
        // Context: explicit `partition`/`region`/`account` bindings win, then what the other
        // bound values carry (an ARN, a queue URL), then the event; the options fill the rest.
        // Borrowed from the bound values and the call: nothing is copied until the output.
        let mut partition: Option<&str> = None;
        let mut region: Option<&str> = None;
        let mut account: Option<&str> = None;
        for (var, b) in &bound {
            let Some(b) = b else { continue };
            match *var {
                "partition" => partition = partition.or_else(|| nonempty_ref(&b.piece.text)),
                "region" => region = region.or_else(|| nonempty_ref(&b.piece.text)),
                "account" => account = account.or_else(|| nonempty_ref(&b.piece.text)),
                _ => {}
            }
        }
        for (var, b) in &bound {
            let Some(b) = b else { continue };
            if !is_context_var(var) {
                partition = partition.or(b.partition.as_deref());
                region = region.or(b.region.as_deref());
                account = account.or(b.account.as_deref());
            }
        }
        // An empty region or account in the event is no region or account.
        let region = region.or_else(|| call.region.as_deref().and_then(nonempty_ref));
        let account = account.or_else(|| call.account.as_deref().and_then(nonempty_ref));
        let partition = partition
            .or_else(|| call.partition.as_deref().and_then(nonempty_ref))
            .or_else(|| region.map(partition_of_region));
        let lookup = |var: &str| -> Option<&Bound> {
            bound
                .iter()
                .find(|(v, _)| *v == var)
                .and_then(|(_, b)| b.as_ref())
        };
        let whole_arn = match &g.resource {
            ResourceSpec::Template { template, .. } => match template.0.as_slice() {
                [TplPart::Var(v)] if !is_context_var(v) => Some(v.as_str()),
                _ => None,
            },
            ResourceSpec::Star => None,
        };
        let resource = match (&g.resource, whole_arn) {
            (ResourceSpec::Star, _) => Resource::star(),
            (ResourceSpec::Template { .. }, Some(var)) => {
                match lookup(var).and_then(|b| arn_resource(&b.piece)) {
                    Some(r) => r,
                    None => {
                        wildcard(g, var, "absent or not an ARN; `*` used", call, prefix, out);
                        Resource::star()
                    }
                }
            }
            (
                ResourceSpec::Template {
                    template,
                    generalise,
                    arn_forms,
                },
                None,
            ) => {
                // A value that is a full ARN of another form (an S3 access point given as
                // `Bucket`) switches to that form's template, with the ARN's own context.
                let mut template = template;
                let mut replaced: Option<(&str, Bound)> = None;
                let (mut partition, mut region, mut account) = (partition, region, account);
                for f in arn_forms {
                    let Some(b) = lookup(&f.var) else { continue };
                    if b.piece.pattern.is_some() {
                        continue;
                    }
                    let Some(arn) = Arn::parse(&b.piece.text) else {
                        continue;
                    };
                    let Some(rest) = arn.resource.strip_prefix(f.prefix.as_str()) else {
                        continue;
                    };
                    template = &f.template;
                    // Kept even when empty: a multi-Region access point has no region.
                    partition = Some(arn.partition);
                    region = Some(arn.region);
                    account = Some(arn.account);
                    replaced = Some((
                        f.var.as_str(),
                        Bound {
                            piece: Piece {
                                text: rest.to_owned(),
                                pattern: None,
                            },
                            partition: None,
                            region: None,
                            account: None,
                            whole_arn: false,
                        },
                    ));
                    break;
                }
                let lookup = |var: &str| -> Option<&Bound> {
                    match &replaced {
                        Some((v, b)) if *v == var => Some(b),
                        _ => lookup(var),
                    }
                };
                // A full ARN given where the template wants a name or an id: the resource
                // itself when it is of the template's kind, else its id in the template.
                let mut ids: Vec<(&str, Bound)> = Vec::new();
                let mut whole = None;
                for v in template.vars().filter(|v| !is_context_var(v)) {
                    let Some(b) = lookup(v) else { continue };
                    if !b.whole_arn || generalise.as_deref() == Some(v) {
                        continue;
                    }
                    match arn_in_template(template, &b.piece.text) {
                        ArnFit::Whole => {
                            whole = arn_resource(&b.piece);
                            break;
                        }
                        ArnFit::Id(id) => ids.push((
                            v,
                            Bound {
                                piece: Piece {
                                    text: id.to_owned(),
                                    pattern: None,
                                },
                                partition: None,
                                region: None,
                                account: None,
                                whole_arn: false,
                            },
                        )),
                    }
                }
                if let Some(r) = whole {
                    r
                } else {
                    let lookup = |var: &str| -> Option<&Bound> {
                        ids.iter()
                            .find(|(v, _)| *v == var)
                            .map(|(_, b)| b)
                            .or_else(|| lookup(var))
                    };
                    with_builder(|segs| {
                        let mut tail = None;
                        let last = template.0.len().saturating_sub(1);
                        for (i, part) in template.0.iter().enumerate() {
                            match part {
                                TplPart::Lit(l) => {
                                    segs.pattern(l);
                                }
                                TplPart::Var(v) if is_context_var(v) => {
                                    let (field, value) = match v.as_str() {
                                        "partition" => (Field::Partition, partition),
                                        "region" => (Field::Region, region),
                                        _ => (Field::Account, account),
                                    };
                                    segs.push(SegRef::Field(field, value));
                                }
                                TplPart::Var(v) => match lookup(v) {
                                    Some(b) => {
                                        if i == last
                                            && generalise.as_deref() == Some(v.as_str())
                                            && b.piece.pattern.is_none()
                                        {
                                            tail = Some(b.piece.text.as_str());
                                        } else {
                                            segs.text(&b.piece.text);
                                            if let Some(p) = b.piece.pattern {
                                                segs.pattern(p);
                                            }
                                        }
                                    }
                                    None => {
                                        segs.pattern("*");
                                        let why =
                                            format!("absent or not text; `*` used for `{{{v}}}`");
                                        wildcard(g, v, &why, call, prefix, out);
                                    }
                                },
                            }
                        }
                        segs.finish(tail)
                    })
                }
            }
        };
        let condition = if g.condition.is_empty() {
            None
        } else {
            let mut block = ConditionBlock::new();
            for (operator, key, tpls) in &g.condition {
                let values = block
                    .entry(operator.clone())
                    .or_default()
                    .entry(key.clone())
                    .or_default();
                for t in tpls {
                    let mut s = String::new();
                    for part in &t.0 {
                        match part {
                            TplPart::Lit(l) => s.push_str(l),
                            TplPart::Var(v) => {
                                let ctx = match v.as_str() {
                                    "partition" => partition,
                                    "region" => region,
                                    "account" => account,
                                    _ => None,
                                };
                                match (ctx, lookup(v)) {
                                    (Some(c), _) => s.push_str(c),
                                    (None, Some(b)) => {
                                        // Request text is literal: IAM would read `${` in a
                                        // condition value as a policy variable.
                                        s.push_str(&b.piece.text.replace('$', "${$}"));
                                        s.push_str(b.piece.pattern.unwrap_or(""));
                                    }
                                    (None, None) => s.push('*'),
                                }
                            }
                        }
                    }
                    values.push(s);
                }
                values.sort();
                values.dedup();
            }
            Some(block)
        };
        if let Some(why) = &g.broadened {
            out.diagnostics.push(Diagnostic {
                kind: DiagnosticKind::Broadened,
                service: prefix.to_owned(),
                operation: pascal_operation(&call.operation),
                message: format!("`{}`: {why}", g.action),
                action: Some(g.action.clone()),
                hint: g.hint.clone(),
            });
        }
        out.permissions.push(Permission {
            action: g.action.clone(),
            resource,
            condition,
        });
    }
}

/// Notes that the request member bound to `var` gave nothing usable, so `*` stands in for it.
fn wildcard(g: &Grant, var: &str, why: &str, call: &Call, prefix: &str, out: &mut Derived) {
    let member = g
        .bind
        .iter()
        .find(|(name, _)| name == var)
        .map(|(_, b)| b.path.text.as_str())
        .unwrap_or(var);
    out.diagnostics.push(Diagnostic {
        kind: DiagnosticKind::Wildcard,
        service: prefix.to_owned(),
        operation: pascal_operation(&call.operation),
        message: format!("`{}`: request member `{member}` {why}", g.action),
        action: Some(g.action.clone()),
        hint: None,
    });
}

/// How a full ARN given for a variable of a template fits it.
enum ArnFit<'a> {
    /// The ARN is a resource of the template's kind (same service, and its resource part starts
    /// with the template's literal text before its first variable): it is the resource.
    Whole,
    /// Another kind (an ECS cluster ARN for a service's `{cluster}`): its id, the text after
    /// the last `/` (or `:`) of its resource part, goes into the template.
    Id(&'a str),
}

fn arn_in_template<'a>(template: &Template, text: &'a str) -> ArnFit<'a> {
    let Some(arn) = Arn::parse(text) else {
        return ArnFit::Id(text);
    };
    // The template as text, variables written `{}`: `arn:{}:ecs:{}:{}:task/{}/{}`.
    let mut flat = String::new();
    for p in &template.0 {
        match p {
            TplPart::Lit(l) => flat.push_str(l),
            TplPart::Var(_) => flat.push_str("{}"),
        }
    }
    let mut fields = flat.splitn(6, ':');
    let service = fields.nth(2).unwrap_or_default();
    let resource = fields.nth(2).unwrap_or_default();
    let literal = resource.split("{}").next().unwrap_or_default();
    if service == arn.service && !literal.is_empty() && arn.resource.starts_with(literal) {
        return ArnFit::Whole;
    }
    let id = arn
        .resource
        .rsplit(['/', ':'])
        .next()
        .filter(|id| !id.is_empty())
        .unwrap_or(arn.resource);
    ArnFit::Id(id)
}

/// A full ARN as a resource: partition, region and account as fields (so mappings apply),
/// the rest literal. Empty region or account stay empty.
fn arn_resource(piece: &Piece) -> Option<Resource> {
    if piece.pattern.is_some() {
        return None;
    }
    let arn = Arn::parse(&piece.text)?;
    Some(with_builder(|b| {
        b.pattern("arn:")
            .push(SegRef::Field(Field::Partition, Some(arn.partition)))
            .pattern(":")
            .text(arn.service)
            .pattern(":");
        if !arn.region.is_empty() {
            b.push(SegRef::Field(Field::Region, Some(arn.region)));
        }
        b.pattern(":");
        if !arn.account.is_empty() {
            b.push(SegRef::Field(Field::Account, Some(arn.account)));
        }
        b.pattern(":").text(arn.resource);
        b.finish(None)
    }))
}

thread_local! {
    /// A builder per thread, its buffers kept from one resource to the next.
    static BUILDER: std::cell::RefCell<ResourceBuilder> =
        std::cell::RefCell::new(ResourceBuilder::new());
}

/// Runs `f` with this thread's resource builder (a new one if it is in use).
fn with_builder<T>(f: impl FnOnce(&mut ResourceBuilder) -> T) -> T {
    BUILDER.with(|b| match b.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        Err(_) => f(&mut ResourceBuilder::new()),
    })
}
