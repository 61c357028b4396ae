//! IAM wildcard matching: the engine's conditions and filters, the policy builder's checks and
//! the evaluator share it.
//!
//! - Actions: `*` any run of characters, `?` any one, case-insensitive ([`action_matches`]).
//! - Resources (the IAM user guide, "Resource" element): `*` and `?` match within an ARN
//!   segment (the parts between colons; `/` is no boundary), except that a `*` that ends a
//!   segment (or the pattern) may also match past the colons after it; matching is
//!   case-sensitive; `${*}`, `${?}` and `${$}` are a literal `*`, `?` and `$`
//!   ([`resource_matches`]).

/// Case-insensitive match with `*` (any run of characters) and `?` (any one character), with
/// no boundaries: action patterns, `--exclude` globs and rule conditions.
///
/// ```
/// assert!(leastpriv::glob::action_matches("s3:Get*", "s3:GetObject"));
/// assert!(leastpriv::glob::action_matches("S3:GETOBJECT", "s3:GetObject"));
/// assert!(!leastpriv::glob::action_matches("s3:Put*", "s3:GetObject"));
/// ```
pub fn action_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        // A `*` in the pattern is a wildcard even where the text has a `*` too.
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// One unit of IAM resource text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A literal character (an escaped `${*}` is a literal `*`).
    Lit(char),
    /// `*`; `true` when it may match past colons (it ends a segment or the text).
    Star(bool),
    /// `?`.
    One,
}

fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let lit = |esc: &str| rest.strip_prefix(esc);
        if let Some(r) = lit("${*}") {
            out.push(Tok::Lit('*'));
            rest = r;
        } else if let Some(r) = lit("${?}") {
            out.push(Tok::Lit('?'));
            rest = r;
        } else if let Some(r) = lit("${$}") {
            out.push(Tok::Lit('$'));
            rest = r;
        } else {
            out.push(match c {
                '*' => Tok::Star(false),
                '?' => Tok::One,
                c => Tok::Lit(c),
            });
            rest = &rest[c.len_utf8()..];
        }
    }
    let n = out.len();
    for i in 0..n {
        if out[i] == Tok::Star(false) && (i + 1 == n || out[i + 1] == Tok::Lit(':')) {
            out[i] = Tok::Star(true);
        }
    }
    out
}

/// Whether the IAM resource pattern `pattern` matches `resource`, the way IAM matches a
/// request's resource against a policy's. `resource` may hold wildcards itself (a permission on
/// `key/*`): then the answer is whether `pattern` covers every resource it stands for (a
/// wildcard in `resource` is only covered by a `*` of the pattern, or a `?` for a `?`).
///
/// ```
/// use leastpriv::glob::resource_matches;
/// assert!(resource_matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.txt"));
/// assert!(resource_matches("arn:aws:lambda:*:*:function:f*", "arn:aws:lambda:eu-west-1:1:function:f:live"));
/// // `*` inside a segment stops at a colon.
/// assert!(!resource_matches("arn:aws:dynamodb:eu-*1:1:table/t", "arn:aws:dynamodb:eu-x:y-1:1:table/t"));
/// // Escapes are literal; resources are case-sensitive.
/// assert!(resource_matches("arn:aws:s3:::b/a${*}b", "arn:aws:s3:::b/a${*}b"));
/// assert!(!resource_matches("arn:aws:s3:::b/a${*}b", "arn:aws:s3:::b/axb"));
/// assert!(!resource_matches("arn:aws:s3:::B", "arn:aws:s3:::b"));
/// // Subsumption of wildcards.
/// assert!(resource_matches("arn:aws:kms:*:*:key/*", "arn:aws:kms:eu-west-1:1:key/*"));
/// assert!(!resource_matches("arn:aws:kms:*:*:key/a", "arn:aws:kms:eu-west-1:1:key/*"));
/// ```
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    let p = tokens(pattern);
    let t = tokens(resource);
    // The set of text positions the pattern read so far can end at.
    let mut cur = vec![false; t.len() + 1];
    cur[0] = true;
    let mut next = vec![false; t.len() + 1];
    for tok in &p {
        next.iter_mut().for_each(|x| *x = false);
        match *tok {
            Tok::Lit(c) => {
                for j in 0..t.len() {
                    if cur[j] && t[j] == Tok::Lit(c) {
                        next[j + 1] = true;
                    }
                }
            }
            Tok::One => {
                for j in 0..t.len() {
                    if cur[j] && (t[j] == Tok::One || matches!(t[j], Tok::Lit(c) if c != ':')) {
                        next[j + 1] = true;
                    }
                }
            }
            Tok::Star(cross) => {
                for j in 0..=t.len() {
                    next[j] =
                        cur[j] || (j > 0 && next[j - 1] && (cross || t[j - 1] != Tok::Lit(':')));
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if !cur.iter().any(|x| *x) {
            return false;
        }
    }
    cur[t.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_crossing() {
        assert!(resource_matches("*", "arn:aws:s3:::b/k"));
        assert!(resource_matches("arn:aws:*", "arn:aws:s3:::b/k"));
        assert!(resource_matches("arn:*:s3:::b/*", "arn:aws:s3:::b/a:b"));
        assert!(!resource_matches("arn:aws:s3:::b?", "arn:aws:s3:::b:"));
        assert!(resource_matches(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/a/b"
        ));
        assert!(!resource_matches(
            "arn:aws:iam::1*2:role/r",
            "arn:aws:iam::1:x:2:role/r"
        ));
        assert!(resource_matches("", ""));
        assert!(!resource_matches("", "x"));
        assert!(resource_matches("a??c", "abbc"));
        assert!(!resource_matches("a?c", "a${*}${*}c"));
        assert!(resource_matches("a*c", "a*c"));
        assert!(!resource_matches("abc", "a?c"));
    }
}
