//! Resources as the engine derives them: ARNs made of literal text, rule patterns and context
//! fields (partition, region, account) that may still be unknown.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A context field of an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    Partition,
    /// `eu-west-1`, ...
    Region,
    /// The 12-digit account id.
    Account,
}

impl Field {
    /// `partition`, `region` or `account`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Partition => "partition",
            Field::Region => "region",
            Field::Account => "account",
        }
    }
}

/// One piece of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Seg {
    /// Text taken from a request: literal, so `*`, `?` and `$` in it are escaped when rendered.
    #[serde(rename = "t")]
    Text(String),
    /// IAM pattern text from a rule (`*`, `?` are wildcards): written as it is.
    #[serde(rename = "p")]
    Pattern(String),
    /// A context field, known or a gap.
    #[serde(rename = "f")]
    Field(Field, Option<String>),
}

/// A resource: an ARN (or `*`) in pieces.
///
/// `tail` is the part that `--s3-objects` may generalise (an S3 object key); it comes after
/// `segs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Resource {
    /// The pieces, in order.
    #[serde(rename = "s")]
    pub segs: Vec<Seg>,
    /// The generalisable tail (literal text), if any.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<String>,
}

impl Resource {
    /// The resource `*`.
    pub fn star() -> Resource {
        Resource {
            segs: vec![Seg::Pattern("*".into())],
            tail: None,
        }
    }

    /// `true` if this is exactly `*`.
    pub fn is_star(&self) -> bool {
        self.tail.is_none() && matches!(self.segs.as_slice(), [Seg::Pattern(p)] if p == "*")
    }

    /// Merges adjacent pieces of the same kind so that equal resources compare equal.
    pub(crate) fn normalize(mut self) -> Resource {
        let mut out: Vec<Seg> = Vec::with_capacity(self.segs.len());
        for seg in self.segs.drain(..) {
            match (out.last_mut(), seg) {
                (Some(Seg::Text(a)), Seg::Text(b)) => a.push_str(&b),
                (Some(Seg::Pattern(a)), Seg::Pattern(b)) => a.push_str(&b),
                (_, Seg::Text(b)) if b.is_empty() => {}
                (_, Seg::Pattern(b)) if b.is_empty() => {}
                (_, seg) => out.push(seg),
            }
        }
        self.segs = out;
        self
    }

    /// Fills unknown fields from `fill` (only where a field is a gap).
    pub(crate) fn fill(
        &mut self,
        partition: Option<&str>,
        region: Option<&str>,
        account: Option<&str>,
    ) {
        for seg in &mut self.segs {
            if let Seg::Field(f, v @ None) = seg {
                *v = match f {
                    Field::Partition => partition.map(str::to_owned),
                    Field::Region => region.map(str::to_owned),
                    Field::Account => account.map(str::to_owned),
                };
            }
        }
    }

    /// The value of the first field of this kind, if known.
    pub fn field(&self, field: Field) -> Option<&str> {
        self.segs.iter().find_map(|s| match s {
            Seg::Field(f, v) if *f == field => v.as_deref(),
            _ => None,
        })
    }

    /// `true` if any field is still unknown.
    pub fn has_gap(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Seg::Field(_, None)))
    }

    /// Renders as IAM text: literal text escaped, gaps as `*`.
    pub fn to_iam(&self) -> String {
        let mut out = String::new();
        for seg in &self.segs {
            match seg {
                Seg::Text(t) => escape_iam(t, &mut out),
                Seg::Pattern(p) => out.push_str(p),
                Seg::Field(_, Some(v)) => escape_iam(v, &mut out),
                Seg::Field(_, None) => out.push('*'),
            }
        }
        if let Some(t) = &self.tail {
            escape_iam(t, &mut out);
        }
        out
    }

    /// A canonical text where gaps are written `${partition}` etc. (used for Sid hashes).
    pub(crate) fn canonical(&self) -> String {
        let mut out = String::new();
        for seg in &self.segs {
            match seg {
                Seg::Text(t) => escape_iam(t, &mut out),
                Seg::Pattern(p) => out.push_str(p),
                Seg::Field(_, Some(v)) => out.push_str(v),
                Seg::Field(f, None) => {
                    let _ = write!(out, "<{}>", f.name());
                }
            }
        }
        if let Some(t) = &self.tail {
            escape_iam(t, &mut out);
        }
        out
    }
}

/// Escapes IAM's special characters in literal text: `*` → `${*}`, `?` → `${?}`, `$` → `${$}`.
///
/// ```
/// let mut s = String::new();
/// leastpriv::escape_iam("a*b?$", &mut s);
/// assert_eq!(s, "a${*}b${?}${$}");
/// ```
pub fn escape_iam(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '*' => out.push_str("${*}"),
            '?' => out.push_str("${?}"),
            '$' => out.push_str("${$}"),
            c => out.push(c),
        }
    }
}

/// The partition of a region: `cn-*` → `aws-cn`, `us-gov-*` → `aws-us-gov`,
/// `us-iso-*` → `aws-iso`, `us-isob-*` → `aws-iso-b`, `eu-isoe-*` → `aws-iso-e`,
/// `us-isof-*` → `aws-iso-f`, `eusc-*` → `aws-eusc`, everything else `aws`.
///
/// ```
/// assert_eq!(leastpriv::partition_of_region("cn-north-1"), "aws-cn");
/// assert_eq!(leastpriv::partition_of_region("us-gov-west-1"), "aws-us-gov");
/// assert_eq!(leastpriv::partition_of_region("eu-west-1"), "aws");
/// ```
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-isof-") || region.starts_with("eu-isof-") {
        "aws-iso-f"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// A parsed ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    /// The partition.
    pub partition: &'a str,
    /// The service (IAM prefix).
    pub service: &'a str,
    /// The region (may be empty).
    pub region: &'a str,
    /// The account (may be empty).
    pub account: &'a str,
    /// The resource part (may contain `:` and `/`).
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses `text` as an ARN, or `None`.
    ///
    /// ```
    /// let arn = leastpriv::Arn::parse("arn:aws:dynamodb:us-east-1:111122223333:table/Orders").unwrap();
    /// assert_eq!(arn.region, "us-east-1");
    /// assert_eq!(arn.resource, "table/Orders");
    /// ```
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let rest = text.strip_prefix("arn:")?;
        let mut it = rest.splitn(5, ':');
        let partition = it.next()?;
        let service = it.next()?;
        let region = it.next()?;
        let account = it.next()?;
        let resource = it.next()?;
        if partition.is_empty() || service.is_empty() {
            return None;
        }
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_gaps() {
        let r = Resource {
            segs: vec![
                Seg::Pattern("arn:".into()),
                Seg::Field(Field::Partition, None),
                Seg::Pattern(":s3:::".into()),
                Seg::Text("b".into()),
                Seg::Pattern("/".into()),
            ],
            tail: Some("a*b".into()),
        };
        assert_eq!(r.to_iam(), "arn:*:s3:::b/a${*}b");
        assert!(r.has_gap());
        assert_eq!(r.canonical(), "arn:<partition>:s3:::b/a${*}b");
    }

    #[test]
    fn normalize_merges() {
        let r = Resource {
            segs: vec![
                Seg::Pattern("a".into()),
                Seg::Pattern("b".into()),
                Seg::Text(String::new()),
                Seg::Text("c".into()),
                Seg::Text("d".into()),
            ],
            tail: None,
        }
        .normalize();
        assert_eq!(
            r.segs,
            vec![Seg::Pattern("ab".into()), Seg::Text("cd".into())]
        );
    }

    #[test]
    fn arn_parse_rejects_short() {
        assert!(Arn::parse("arn:aws:s3").is_none());
        assert!(Arn::parse("table/x").is_none());
        let a = Arn::parse("arn:aws:s3:::bucket/key:with:colons").unwrap();
        assert_eq!(a.resource, "bucket/key:with:colons");
    }
}
