//! Paths into request parameters: `Put.TableName`, `Entries[]`, `RequestItems.*`, `@key`.

use crate::call::{Call, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A member of a map.
    Member(String),
    /// Every element of a list (a non-list value counts as a one-element list).
    Elements,
    /// Every value of a map, remembering its key.
    Values,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// The current element (the request itself outside `each`).
    Current,
    /// The request, even inside `each`.
    Root,
    /// The map key of the current element.
    Key,
    /// The call's endpoint URL.
    Endpoint,
    /// The call's region.
    Region,
    /// The call's account.
    Account,
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    pub(crate) text: String,
    start: Start,
    steps: Vec<Step>,
}

/// One element produced by iterating a path: the value and, for map values, its key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elem<'a> {
    pub(crate) value: &'a Value,
    pub(crate) key: Option<&'a str>,
}

impl Path {
    /// Parses a path; `iterate` says whether `[]` and `*` are allowed.
    pub(crate) fn parse(text: &str, iterate: bool) -> Result<Path, String> {
        let (start, rest) = if text == "@" {
            (Start::Current, "")
        } else if text == "@key" {
            (Start::Key, "")
        } else if text == "@endpoint" {
            (Start::Endpoint, "")
        } else if text == "@region" {
            (Start::Region, "")
        } else if text == "@account" {
            (Start::Account, "")
        } else if let Some(rest) = text.strip_prefix("$.") {
            (Start::Root, rest)
        } else if let Some(rest) = text.strip_prefix("@.") {
            (Start::Current, rest)
        } else {
            (Start::Current, text)
        };
        let mut steps = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('.') {
                // `Name`, `Name[]`, `*` (every map value), each maybe followed by more `[]`
                // (lists of lists, maps of lists).
                let mut name = part;
                let mut lists = 0;
                while let Some(n) = name.strip_suffix("[]") {
                    name = n;
                    lists += 1;
                }
                if name == "*" {
                    steps.push(Step::Values);
                } else if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':')
                {
                    return Err(format!("path `{text}`: bad member name `{part}`"));
                } else {
                    steps.push(Step::Member(name.to_owned()));
                }
                steps.extend(std::iter::repeat_n(Step::Elements, lists));
            }
        }
        if !iterate && steps.iter().any(|s| !matches!(s, Step::Member(_))) {
            return Err(format!(
                "path `{text}`: `[]` and `*` are only allowed in `each`"
            ));
        }
        if matches!(
            start,
            Start::Key | Start::Endpoint | Start::Region | Start::Account
        ) && !steps.is_empty()
        {
            return Err(format!("path `{text}`: nothing may follow `{}`", text));
        }
        Ok(Path {
            text: text.to_owned(),
            start,
            steps,
        })
    }

    /// The request members the path reads: `(from the root, steps)`; `None` for `@key`,
    /// `@endpoint`, `@region` and `@account`, which read none (used by [`super::Selection`]).
    pub(crate) fn request_steps(&self) -> Option<(bool, &[Step])> {
        match self.start {
            Start::Current => Some((false, &self.steps)),
            Start::Root => Some((true, &self.steps)),
            Start::Key | Start::Endpoint | Start::Region | Start::Account => None,
        }
    }

    /// Iterates the path from `elem` (or the root), yielding every element it reaches.
    pub(crate) fn each<'a>(&self, root: &'a Value, elem: Elem<'a>, out: &mut Vec<Elem<'a>>) {
        let from = match self.start {
            Start::Root => Elem {
                value: root,
                key: None,
            },
            _ => elem,
        };
        walk(from, &self.steps, out);
    }

    /// The single value the path names, if present and not null.
    pub(crate) fn get<'a>(
        &self,
        root: &'a Value,
        elem: Elem<'a>,
        call: &'a Call,
    ) -> Option<Scalar<'a>> {
        let mut v = match self.start {
            Start::Current => elem.value,
            Start::Root => root,
            Start::Key => return elem.key.map(Scalar::Str),
            Start::Endpoint => return call.endpoint.as_deref().map(Scalar::Str),
            Start::Region => return call.region.as_deref().map(Scalar::Str),
            Start::Account => return call.account.as_deref().map(Scalar::Str),
        };
        for step in &self.steps {
            match step {
                Step::Member(m) => v = member(v, m)?,
                _ => return None,
            }
        }
        match v {
            Value::Null => None,
            Value::String(s) => Some(Scalar::Str(s)),
            Value::Number(n) => Some(Scalar::Owned(n.to_string())),
            Value::Bool(b) => Some(Scalar::Owned(b.to_string())),
            other => Some(Scalar::Other(other)),
        }
    }
}

/// A value a path found.
#[derive(Debug, Clone)]
pub(crate) enum Scalar<'a> {
    Str(&'a str),
    Owned(String),
    /// A map or list: present, but not text.
    Other(&'a Value),
}

impl Scalar<'_> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            Scalar::Owned(s) => Some(s),
            Scalar::Other(_) => None,
        }
    }
}

/// The member `name` of a map (`None` for anything else). A request's maps are small: up to a
/// few members, comparing names is quicker than hashing one (the map's hasher is SipHash).
fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v)
    } else {
        map.get(name)
    }
}

fn walk<'a>(elem: Elem<'a>, steps: &[Step], out: &mut Vec<Elem<'a>>) {
    let Some((step, rest)) = steps.split_first() else {
        if !elem.value.is_null() {
            out.push(elem);
        }
        return;
    };
    match step {
        Step::Member(m) => {
            if let Some(v) = member(elem.value, m) {
                walk(
                    Elem {
                        value: v,
                        key: elem.key,
                    },
                    rest,
                    out,
                );
            }
        }
        Step::Elements => match elem.value {
            Value::Array(items) => {
                for v in items {
                    walk(
                        Elem {
                            value: v,
                            key: elem.key,
                        },
                        rest,
                        out,
                    );
                }
            }
            Value::Null => {}
            _ => walk(elem, rest, out),
        },
        Step::Values => {
            if let Value::Object(map) = elem.value {
                for (k, v) in map {
                    walk(
                        Elem {
                            value: v,
                            key: Some(k.as_str()),
                        },
                        rest,
                        out,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iterates_lists_and_maps() {
        let v = json!({"RequestItems": {"A": {"Keys": []}, "B": {}}, "Entries": [{"Id": "1"}, {"Id": "2"}]});
        let root = Elem {
            value: &v,
            key: None,
        };
        let mut out = Vec::new();
        Path::parse("RequestItems.*", true)
            .unwrap()
            .each(&v, root, &mut out);
        let keys: Vec<_> = out.iter().map(|e| e.key.unwrap()).collect();
        assert_eq!(keys, ["A", "B"]);
        out.clear();
        Path::parse("Entries[]", true)
            .unwrap()
            .each(&v, root, &mut out);
        assert_eq!(out.len(), 2);
        let call = Call::default();
        let p = Path::parse("Id", false).unwrap();
        assert_eq!(p.get(&v, out[1], &call).unwrap().as_str(), Some("2"));
        let k = Path::parse("@key", false).unwrap();
        assert!(k.get(&v, root, &call).is_none());
    }

    #[test]
    fn rejects_iteration_outside_each() {
        assert!(Path::parse("A[]", false).is_err());
        assert!(Path::parse("A..B", false).is_err());
        assert!(Path::parse("@key.x", true).is_err());
    }
}
