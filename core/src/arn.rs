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

/// One piece of a resource, owned: what a resource is built from.
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
    /// A Terraform expression a rewrite rule put in place of a name or of the ARN up to it
    /// (never read from data: a state file cannot hold one).
    #[serde(rename = "x", skip_deserializing)]
    Expr(ExprKind, String),
}

/// What a Terraform expression in a resource yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExprKind {
    /// A name: it stands for one name in the ARN.
    Name,
    /// A whole ARN: it stands for the ARN up to and including the name it replaced.
    Arn,
}

/// One piece of a resource, as a [`Resource`] hands it out. Pieces order as [`Seg`]s do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SegRef<'a> {
    /// Literal text from a request.
    #[serde(rename = "t")]
    Text(&'a str),
    /// IAM pattern text from a rule.
    #[serde(rename = "p")]
    Pattern(&'a str),
    /// A context field, known or a gap.
    #[serde(rename = "f")]
    Field(Field, Option<&'a str>),
    /// A Terraform expression from a rewrite rule.
    #[serde(rename = "x")]
    Expr(ExprKind, &'a str),
}

impl SegRef<'_> {
    /// An owned piece.
    pub fn to_owned(self) -> Seg {
        match self {
            SegRef::Text(t) => Seg::Text(t.to_owned()),
            SegRef::Pattern(p) => Seg::Pattern(p.to_owned()),
            SegRef::Field(f, v) => Seg::Field(f, v.map(str::to_owned)),
            SegRef::Expr(k, e) => Seg::Expr(k, e.to_owned()),
        }
    }
}

impl Seg {
    /// The piece, borrowed.
    pub fn as_ref(&self) -> SegRef<'_> {
        match self {
            Seg::Text(t) => SegRef::Text(t),
            Seg::Pattern(p) => SegRef::Pattern(p),
            Seg::Field(f, v) => SegRef::Field(*f, v.as_deref()),
            Seg::Expr(k, e) => SegRef::Expr(*k, e),
        }
    }
}

// The packed form: records of a tag byte, a field byte for fields, and a length (LEB128) and
// bytes for text.
const T_TEXT: u8 = 1;
const T_PATTERN: u8 = 2;
const T_FIELD: u8 = 3;
const T_GAP: u8 = 4;
const T_TAIL: u8 = 5;
const T_EXPR: u8 = 6;

fn field_byte(f: Field) -> u8 {
    match f {
        Field::Partition => 0,
        Field::Region => 1,
        Field::Account => 2,
    }
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    let mut n = text.len();
    loop {
        let b = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(text.as_bytes());
}

/// A resource: an ARN (or `*`) in pieces ([`SegRef`]), then an optional `tail`, the part that
/// an S3 object mode may generalise (an S3 object key).
///
/// Kept packed in one allocation (a resource is built once and read many times), and always
/// normalized: adjacent pieces of the same kind are merged and empty text dropped, so equal
/// resources compare equal. Resources order by their pieces, then their tail.
///
/// ```
/// use leastpriv::{Field, Resource, Seg};
/// let r = Resource::new(
///     vec![Seg::Pattern("arn:".into()), Seg::Field(Field::Partition, None), Seg::Pattern(":s3:::".into()), Seg::Text("b".into()), Seg::Pattern("/".into())],
///     Some("k*".into()),
/// );
/// assert_eq!(r.to_iam(), "arn:*:s3:::b/k${*}");
/// assert_eq!(r.tail(), Some("k*"));
/// assert!(r.has_gap());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Resource {
    packed: Box<[u8]>,
}

/// A field from its byte in a packed record.
fn field_of(b: u8) -> Field {
    match b {
        1 => Field::Region,
        2 => Field::Account,
        _ => Field::Partition,
    }
}

/// Reads the packed records.
#[derive(Debug, Clone)]
struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
}

enum Record<'a> {
    Seg(SegRef<'a>),
    Tail(&'a str),
}

impl<'a> Records<'a> {
    /// The next record's tag, field byte (0 when it has none) and text's bytes, not yet
    /// checked as text.
    fn raw(&mut self) -> Option<(u8, u8, &'a [u8])> {
        let tag = *self.bytes.get(self.pos)?;
        self.pos += 1;
        let mut field = 0;
        if matches!(tag, T_FIELD | T_GAP | T_EXPR) {
            field = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
        if tag == T_GAP {
            return Some((tag, field, &[]));
        }
        let start = self.skip_text();
        Some((tag, field, &self.bytes[start..self.pos]))
    }

    /// Steps over a text (its length, then its bytes); where its bytes start.
    fn skip_text(&mut self) -> usize {
        let mut n = 0usize;
        let mut shift = 0;
        while let Some(&b) = self.bytes.get(self.pos) {
            self.pos += 1;
            n |= usize::from(b & 0x7F) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 63 {
                break;
            }
        }
        let start = self.pos;
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
        start
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        let (tag, field, bytes) = self.raw()?;
        let text = || std::str::from_utf8(bytes).unwrap_or_default();
        Some(match tag {
            T_TEXT => Record::Seg(SegRef::Text(text())),
            T_PATTERN => Record::Seg(SegRef::Pattern(text())),
            T_FIELD => Record::Seg(SegRef::Field(field_of(field), Some(text()))),
            T_GAP => Record::Seg(SegRef::Field(field_of(field), None)),
            T_EXPR => {
                let kind = if field_of(field) == Field::Partition {
                    ExprKind::Name
                } else {
                    ExprKind::Arn
                };
                Record::Seg(SegRef::Expr(kind, text()))
            }
            _ => Record::Tail(text()),
        })
    }
}

/// Builds a [`Resource`] piece by piece, normalizing as it goes.
#[derive(Debug, Default)]
pub struct ResourceBuilder {
    out: Vec<u8>,
    /// The kind of the text run being gathered.
    open: Option<u8>,
    run: String,
}

impl ResourceBuilder {
    /// An empty builder.
    pub fn new() -> ResourceBuilder {
        ResourceBuilder::default()
    }

    fn flush(&mut self) {
        if let Some(tag) = self.open.take() {
            self.out.push(tag);
            let run = std::mem::take(&mut self.run);
            push_text(&mut self.out, &run);
            self.run = run;
            self.run.clear();
        }
    }

    fn text_run(&mut self, tag: u8, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open != Some(tag) {
            self.flush();
            self.open = Some(tag);
        }
        self.run.push_str(text);
    }

    /// Appends a piece.
    pub fn push(&mut self, seg: SegRef<'_>) -> &mut ResourceBuilder {
        match seg {
            SegRef::Text(t) => self.text_run(T_TEXT, t),
            SegRef::Pattern(p) => self.text_run(T_PATTERN, p),
            SegRef::Field(f, v) => {
                self.flush();
                match v {
                    Some(v) => {
                        self.out.push(T_FIELD);
                        self.out.push(field_byte(f));
                        push_text(&mut self.out, v);
                    }
                    None => {
                        self.out.push(T_GAP);
                        self.out.push(field_byte(f));
                    }
                }
            }
            SegRef::Expr(kind, e) => {
                self.flush();
                self.out.push(T_EXPR);
                self.out.push(match kind {
                    ExprKind::Name => 0,
                    ExprKind::Arn => 1,
                });
                push_text(&mut self.out, e);
            }
        }
        self
    }

    /// Appends literal text.
    pub fn text(&mut self, text: &str) -> &mut ResourceBuilder {
        self.push(SegRef::Text(text))
    }

    /// Appends pattern text.
    pub fn pattern(&mut self, text: &str) -> &mut ResourceBuilder {
        self.push(SegRef::Pattern(text))
    }

    /// The resource, with `tail` (the builder is left empty, ready for another).
    pub fn finish(&mut self, tail: Option<&str>) -> Resource {
        self.flush();
        if let Some(t) = tail {
            self.out.push(T_TAIL);
            push_text(&mut self.out, t);
        }
        let packed = Box::from(self.out.as_slice());
        self.out.clear();
        Resource { packed }
    }
}

impl Resource {
    /// A resource of `segs` and `tail`, normalized.
    pub fn new(segs: impl IntoIterator<Item = Seg>, tail: Option<String>) -> Resource {
        let mut b = ResourceBuilder::new();
        for s in segs {
            b.push(s.as_ref());
        }
        b.finish(tail.as_deref())
    }

    /// The resource `*`.
    pub fn star() -> Resource {
        ResourceBuilder::new().pattern("*").finish(None)
    }

    /// `true` if this is exactly `*`.
    pub fn is_star(&self) -> bool {
        self.packed.as_ref() == [T_PATTERN, 1, b'*']
    }

    /// The pieces, in order.
    pub fn segs(&self) -> impl Iterator<Item = SegRef<'_>> + Clone + '_ {
        self.view().segs()
    }

    /// The generalisable tail (literal text), if any.
    pub fn tail(&self) -> Option<&str> {
        self.view().tail()
    }

    /// A borrowed view of the packed form.
    pub(crate) fn view(&self) -> Packed<'_> {
        Packed(&self.packed)
    }

    /// The pieces as owned [`Seg`]s.
    pub fn to_segs(&self) -> Vec<Seg> {
        self.segs().map(SegRef::to_owned).collect()
    }

    /// The value of the first field of this kind, if known.
    pub fn field(&self, field: Field) -> Option<&str> {
        self.view().field(field)
    }

    /// `true` if any field is still unknown.
    pub fn has_gap(&self) -> bool {
        self.view().has_gap()
    }

    /// Renders as IAM text: literal text escaped, gaps as `*`.
    pub fn to_iam(&self) -> String {
        let mut out = String::new();
        self.write_iam(&mut out);
        out
    }

    /// As [`Resource::to_iam`], appending to `out`.
    pub fn write_iam(&self, out: &mut String) {
        self.view().write_iam(out);
    }

    /// `true` if a rewrite rule put a Terraform expression in this resource.
    pub fn has_expr(&self) -> bool {
        self.segs().any(|s| matches!(s, SegRef::Expr(..)))
    }

    /// A canonical text where gaps are written `<partition>` etc. (used for Sid hashes).
    pub(crate) fn canonical(&self) -> String {
        let mut out = String::new();
        for seg in self.segs() {
            match seg {
                SegRef::Text(t) => escape_iam(t, &mut out),
                SegRef::Pattern(p) => out.push_str(p),
                SegRef::Field(_, Some(v)) => out.push_str(v),
                SegRef::Field(f, None) => {
                    let _ = write!(out, "<{}>", f.name());
                }
                SegRef::Expr(_, e) => {
                    let _ = write!(out, "${{{e}}}");
                }
            }
        }
        if let Some(t) = self.tail() {
            escape_iam(t, &mut out);
        }
        out
    }
}

/// A resource's packed form, borrowed (from a [`Resource`] or a store of them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed<'a>(pub(crate) &'a [u8]);

impl<'a> Packed<'a> {
    /// The packed form without the tail, and the tail, when there is one (only the tail's
    /// text is read as text).
    pub(crate) fn split_tail(self) -> Option<(&'a [u8], &'a str)> {
        let mut records = self.records();
        let mut start = 0;
        while let Some((tag, _, text)) = records.raw() {
            // Any other tag is read as the tail, as `Records::next` reads it.
            if !matches!(tag, T_TEXT | T_PATTERN | T_FIELD | T_GAP | T_EXPR) {
                return Some((
                    &self.0[..start],
                    std::str::from_utf8(text).unwrap_or_default(),
                ));
            }
            start = records.pos;
        }
        None
    }

    fn records(self) -> Records<'a> {
        Records {
            bytes: self.0,
            pos: 0,
        }
    }

    /// The pieces, in order.
    pub(crate) fn segs(self) -> impl Iterator<Item = SegRef<'a>> + Clone + 'a {
        self.records().filter_map(|r| match r {
            Record::Seg(s) => Some(s),
            Record::Tail(_) => None,
        })
    }

    /// The generalisable tail (literal text), if any.
    pub(crate) fn tail(self) -> Option<&'a str> {
        self.split_tail().map(|(_, t)| t)
    }

    /// The value of the first field of this kind, if known.
    pub(crate) fn field(self, field: Field) -> Option<&'a str> {
        // Only the text of the field found is read as text.
        let mut records = self.records();
        while let Some((tag, f, text)) = records.raw() {
            if matches!(tag, T_FIELD | T_GAP) && field_of(f) == field {
                return (tag == T_FIELD).then(|| std::str::from_utf8(text).unwrap_or_default());
            }
        }
        None
    }

    /// `true` if any field is still unknown.
    pub(crate) fn has_gap(self) -> bool {
        self.segs().any(|s| matches!(s, SegRef::Field(_, None)))
    }

    /// An owned copy.
    pub(crate) fn to_resource(self) -> Resource {
        Resource {
            packed: Box::from(self.0),
        }
    }

    /// The resource with each field's value replaced by `f(field, value)` (its tail kept).
    /// The other pieces are copied as they are packed: a field is a piece of its own, so the
    /// result is as normalized as the resource.
    pub(crate) fn with_fields<'t>(
        self,
        mut f: impl FnMut(Field, Option<&'a str>) -> Option<&'t str>,
    ) -> Resource {
        let mut out = Vec::with_capacity(self.0.len() + 32);
        let mut records = self.records();
        let mut start = 0;
        while let Some(r) = records.next() {
            match r {
                Record::Seg(SegRef::Field(field, v)) => match f(field, v) {
                    Some(v) => {
                        out.push(T_FIELD);
                        out.push(field_byte(field));
                        push_text(&mut out, v);
                    }
                    None => {
                        out.push(T_GAP);
                        out.push(field_byte(field));
                    }
                },
                _ => out.extend_from_slice(&self.0[start..records.pos]),
            }
            start = records.pos;
        }
        Resource {
            packed: out.into_boxed_slice(),
        }
    }

    /// As [`Resource::write_iam`].
    pub(crate) fn write_iam(self, out: &mut String) {
        self.write_iam_with(|_, v| v, out);
    }

    /// As [`Packed::write_iam`], each field's value (`None`: a gap, `*`) given by
    /// `field(field, value)`.
    pub(crate) fn write_iam_with<'t>(
        self,
        field: impl Fn(Field, Option<&'a str>) -> Option<&'t str>,
        out: &mut String,
    ) {
        // One pass: the tail (the first, as `tail` finds it) is written after the pieces.
        let mut tail = None;
        for record in self.records() {
            match record {
                Record::Seg(SegRef::Text(t)) => escape_iam(t, out),
                Record::Seg(SegRef::Pattern(p)) => out.push_str(p),
                Record::Seg(SegRef::Field(f, v)) => match field(f, v) {
                    Some(v) => escape_iam(v, out),
                    None => out.push('*'),
                },
                // Only a resource built for Terraform holds one; as IAM text it is the
                // interpolation Terraform would fill in.
                Record::Seg(SegRef::Expr(_, e)) => {
                    out.push_str("${");
                    out.push_str(e);
                    out.push('}');
                }
                Record::Tail(t) => {
                    tail = tail.or(Some(t));
                }
            }
        }
        if let Some(t) = tail {
            escape_iam(t, out);
        }
    }
}

impl Resource {
    /// The packed form (for a store of many resources).
    pub(crate) fn packed(&self) -> &[u8] {
        &self.packed
    }

    /// The packed form of the resource without its tail, and the tail, when it has one.
    pub(crate) fn split_tail(&self) -> Option<(&[u8], &str)> {
        self.view().split_tail()
    }

    /// A resource from its packed form (as [`Resource::packed`] gave it).
    pub(crate) fn from_packed(packed: &[u8]) -> Resource {
        Resource {
            packed: Box::from(packed),
        }
    }

    /// Orders packed forms as their resources order: pieces in order (text before pattern
    /// before field; a field by its kind, a gap before a value), then the tail (none first).
    /// Text compares as bytes, as `str` does.
    pub(crate) fn cmp_packed(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        /// One record as bytes: (order of its kind, field, has a value, text).
        fn next<'p>(p: &'p [u8], pos: &mut usize) -> Option<(u8, u8, bool, &'p [u8])> {
            let mut records = Records {
                bytes: p,
                pos: *pos,
            };
            let (tag, field, text) = records.raw()?;
            *pos = records.pos;
            Some(match tag {
                T_TEXT => (1, 0, true, text),
                T_PATTERN => (2, 0, true, text),
                T_FIELD | T_GAP => (3, field, tag != T_GAP, text),
                T_EXPR => (4, field, true, text),
                // The end of the pieces, with the tail: before any piece (a shorter list of
                // pieces comes first), then by tail.
                _ => (0, 0, true, text),
            })
        }
        /// The next record, then the end of the pieces without a tail (once), then nothing.
        fn step<'p>(
            p: &'p [u8],
            pos: &mut usize,
            ended: &mut bool,
        ) -> Option<(u8, u8, bool, &'p [u8])> {
            if *ended {
                return None;
            }
            match next(p, pos) {
                Some(r) => {
                    *ended = r.0 == 0;
                    Some(r)
                }
                None => {
                    *ended = true;
                    Some((0, 0, false, &[]))
                }
            }
        }
        let (mut i, mut j) = (0, 0);
        let (mut ea, mut eb) = (false, false);
        loop {
            match (step(a, &mut i, &mut ea), step(b, &mut j, &mut eb)) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let o = x.cmp(&y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
            }
        }
    }
}

impl Ord for Resource {
    fn cmp(&self, other: &Resource) -> std::cmp::Ordering {
        Resource::cmp_packed(&self.packed, &other.packed)
    }
}

impl PartialOrd for Resource {
    fn partial_cmp(&self, other: &Resource) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("segs", &self.segs().collect::<Vec<_>>())
            .field("tail", &self.tail())
            .finish()
    }
}

#[derive(Serialize)]
struct ResourceOut<'a> {
    s: Vec<SegRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<&'a str>,
}

#[derive(Deserialize)]
struct ResourceIn {
    s: Vec<Seg>,
    #[serde(default)]
    k: Option<String>,
}

impl Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ResourceOut {
            s: self.segs().collect(),
            k: self.tail(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Resource, D::Error> {
        let r = ResourceIn::deserialize(deserializer)?;
        Ok(Resource::new(r.s, r.k))
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
    // Most pieces are short and have none: a plain look at their bytes costs less than
    // setting up the search.
    if text.len() <= 32 && !text.bytes().any(|b| matches!(b, b'*' | b'?' | b'$')) {
        out.push_str(text);
        return;
    }
    let mut rest = text;
    // The three are ASCII: a byte search finds them at character boundaries.
    while let Some(i) = memchr::memchr3(b'*', b'?', b'$', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'*' => "${*}",
            b'?' => "${?}",
            _ => "${$}",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
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
    fn texts_short_and_long_are_escaped_alike() {
        for n in [0, 1, 31, 32, 33, 64] {
            let plain = "a".repeat(n);
            let mut out = String::new();
            escape_iam(&plain, &mut out);
            assert_eq!(out, plain);
            for special in ["*", "?", "$"] {
                for at in [0, n / 2, n] {
                    let text = format!("{}{special}{}", &plain[..at], &plain[at..]);
                    let mut out = String::from(">");
                    escape_iam(&text, &mut out);
                    let want = format!(">{}${{{special}}}{}", &plain[..at], &plain[at..]);
                    assert_eq!(out, want, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn escapes_and_gaps() {
        let r = Resource::new(
            vec![
                Seg::Pattern("arn:".into()),
                Seg::Field(Field::Partition, None),
                Seg::Pattern(":s3:::".into()),
                Seg::Text("b".into()),
                Seg::Pattern("/".into()),
            ],
            Some("a*b".into()),
        );
        assert_eq!(r.to_iam(), "arn:*:s3:::b/a${*}b");
        assert!(r.has_gap());
        assert_eq!(r.canonical(), "arn:<partition>:s3:::b/a${*}b");
    }

    #[test]
    fn normalize_merges() {
        let r = Resource::new(
            vec![
                Seg::Pattern("a".into()),
                Seg::Pattern("b".into()),
                Seg::Text(String::new()),
                Seg::Text("c".into()),
                Seg::Text("d".into()),
            ],
            None,
        );
        assert_eq!(
            r.to_segs(),
            vec![Seg::Pattern("ab".into()), Seg::Text("cd".into())]
        );
        assert!(Resource::star().is_star());
        assert_eq!(Resource::star().to_segs(), vec![Seg::Pattern("*".into())]);
    }

    #[test]
    fn packed_resources_order_as_their_pieces() {
        let a = Resource::new(vec![Seg::Text("a".into())], Some("z".into()));
        let b = Resource::new(vec![Seg::Text("ab".into())], None);
        let c = Resource::new(vec![Seg::Pattern("a".into())], None);
        let d = Resource::new(vec![Seg::Field(Field::Region, None)], None);
        let e = Resource::new(vec![Seg::Field(Field::Region, Some(String::new()))], None);
        let long = "x".repeat(300);
        let f = Resource::new(vec![Seg::Text(long.clone())], Some(long.clone()));
        assert!(a < b && b < c && c < d && d < e);
        // The order of (pieces, tail), as the resources' parts order.
        let all = [
            Resource::new(vec![], None),
            Resource::new(vec![], Some(String::new())),
            Resource::new(vec![], Some("a".into())),
            Resource::new(vec![Seg::Text("a".into())], None),
            Resource::new(vec![Seg::Text("a".into())], Some("z".into())),
            Resource::new(vec![Seg::Text("a".into()), Seg::Pattern("*".into())], None),
            Resource::new(vec![Seg::Text("ab".into())], None),
            Resource::new(vec![Seg::Text("b".into())], None),
            Resource::new(vec![Seg::Pattern("a".into())], None),
            Resource::new(vec![Seg::Field(Field::Partition, None)], None),
            Resource::new(vec![Seg::Field(Field::Partition, Some("aws".into()))], None),
            Resource::new(vec![Seg::Field(Field::Region, None)], None),
            Resource::new(
                vec![Seg::Field(Field::Region, Some("eu".into()))],
                Some("t".into()),
            ),
            Resource::new(vec![Seg::Field(Field::Account, Some("1".into()))], None),
        ];
        for x in &all {
            for y in &all {
                let want = (x.to_segs(), x.tail()).cmp(&(y.to_segs(), y.tail()));
                assert_eq!(x.cmp(y), want, "{x:?} vs {y:?}");
            }
        }
        assert_eq!(f.tail(), Some(long.as_str()));
        assert_eq!(f.to_segs(), vec![Seg::Text(long)]);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"s":[{"t":"a"}],"k":"z"}"#);
        assert_eq!(serde_json::from_str::<Resource>(&json).unwrap(), a);
    }

    #[test]
    fn arn_parse_rejects_short() {
        assert!(Arn::parse("arn:aws:s3").is_none());
        assert!(Arn::parse("table/x").is_none());
        let a = Arn::parse("arn:aws:s3:::bucket/key:with:colons").unwrap();
        assert_eq!(a.resource, "bucket/key:with:colons");
    }
}
