//! Harbor's list conventions: `page`/`page_size`, `q=` filters and `sort=`.
//!
//! `q` is comma-separated `key=value` terms: exact `k=v`, fuzzy `k=~v`, range `k=[a~b]` (either
//! end may be empty), any-of `k={a b c}`, all-of `k=(a b c)`. Values may be quoted; times are
//! `"2020-04-09 02:36:00"` (UTC). `sort` is `a,-b` (`-` = descending). Each listing declares the
//! keys it accepts ([`Field`]); anything else is a `BAD_REQUEST`, never a silent no-op.

use crate::error::{Error, Result};

/// Default and largest page size.
pub const DEFAULT_PAGE_SIZE: u64 = 10;
pub const MAX_PAGE_SIZE: u64 = 100;

/// What a client asked for, unparsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
}

impl ListQuery {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn q(mut self, q: impl Into<String>) -> Self {
        self.q = Some(q.into());
        self
    }

    pub fn sort(mut self, s: impl Into<String>) -> Self {
        self.sort = Some(s.into());
        self
    }

    pub fn page(mut self, page: u64, page_size: u64) -> Self {
        self.page = Some(page);
        self.page_size = Some(page_size);
        self
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Matches over all pages.
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            page_size: self.page_size,
        }
    }
}

/// How a field's values are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Bool,
    /// Unix milliseconds in the database; `"YYYY-MM-DD hh:mm:ss"` or an integer in queries.
    Time,
}

/// A field a listing accepts in `q` and `sort`: the public key and the SQL expression it maps to.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

pub const fn field(key: &'static str, column: &'static str, kind: Kind) -> Field {
    Field { key, column, kind }
}

/// A bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
}

/// How one term matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Exact(Value),
    /// Substring match on text.
    Fuzzy(String),
    Range(Option<Value>, Option<Value>),
    AnyOf(Vec<Value>),
    AllOf(Vec<Value>),
}

/// One parsed `q` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: &'static str,
    pub column: &'static str,
    pub matcher: Match,
}

/// A parsed, validated listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSpec {
    pub filters: Vec<Filter>,
    /// (SQL expression, descending).
    pub sort: Vec<(&'static str, bool)>,
    pub page: u64,
    pub page_size: u64,
}

impl ListSpec {
    pub fn limit(&self) -> i64 {
        self.page_size as i64
    }

    pub fn offset(&self) -> i64 {
        ((self.page - 1) * self.page_size) as i64
    }

    /// Everything, unpaged (internal callers).
    pub fn all() -> Self {
        Self {
            filters: Vec::new(),
            sort: Vec::new(),
            page: 1,
            page_size: i64::MAX as u64 / 2,
        }
    }

    pub fn page_of<T>(&self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            page_size: self.page_size,
        }
    }

    /// Take out the filter on `key` (for keys a listing handles itself rather than in SQL).
    pub fn take(&mut self, key: &str) -> Option<Match> {
        let i = self.filters.iter().position(|f| f.key == key)?;
        Some(self.filters.remove(i).matcher)
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::BadRequest {
        reason: reason.into(),
    }
}

impl ListQuery {
    /// Validate against the fields a listing accepts. `default_sort` applies when `sort` is
    /// absent; listings append a unique tiebreaker themselves.
    pub fn parse(
        &self,
        fields: &[Field],
        default_sort: &[(&'static str, bool)],
    ) -> Result<ListSpec> {
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(bad("page starts at 1"));
        }
        let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(bad(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        if page
            .checked_mul(page_size)
            .is_none_or(|n| n > i64::MAX as u64)
        {
            return Err(bad("page is too large"));
        }
        let lookup = |key: &str| {
            fields
                .iter()
                .find(|f| f.key == key)
                .copied()
                .ok_or_else(|| {
                    let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
                    bad(format!(
                        "unknown query key {key:?}; this listing accepts {}",
                        known.join(", ")
                    ))
                })
        };
        let mut filters = Vec::new();
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            for term in split_terms(q)? {
                let (key, raw) = term
                    .split_once('=')
                    .ok_or_else(|| bad(format!("query term {term:?} is not key=value")))?;
                let f = lookup(key.trim())?;
                filters.push(Filter {
                    key: f.key,
                    column: f.column,
                    matcher: parse_match(f, raw.trim())?,
                });
            }
        }
        let mut sort = Vec::new();
        match self.sort.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (desc, key) = match part.strip_prefix('-') {
                        Some(k) => (true, k),
                        None => (false, part.strip_prefix('+').unwrap_or(part)),
                    };
                    sort.push((lookup(key)?.column, desc));
                }
            }
            None => sort.extend_from_slice(default_sort),
        }
        Ok(ListSpec {
            filters,
            sort,
            page,
            page_size,
        })
    }
}

/// Split on commas outside quotes and brackets.
fn split_terms(q: &str) -> Result<Vec<&str>> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, false, 0usize);
    for (i, c) in q.char_indices() {
        match c {
            '"' => quote = !quote,
            '[' | '{' | '(' if !quote => depth += 1,
            ']' | '}' | ')' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(&q[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(bad(format!("unbalanced brackets in q={q:?}")));
        }
    }
    if quote || depth != 0 {
        return Err(bad(format!("unbalanced quotes or brackets in q={q:?}")));
    }
    out.push(&q[start..]);
    Ok(out
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect())
}

fn parse_match(f: Field, raw: &str) -> Result<Match> {
    if let Some(v) = raw.strip_prefix('~') {
        if f.kind != Kind::Text {
            return Err(bad(format!("{} does not support fuzzy match", f.key)));
        }
        return Ok(Match::Fuzzy(unquote(v).to_owned()));
    }
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let (a, b) = inner
            .split_once('~')
            .ok_or_else(|| bad(format!("range {raw:?} needs [min~max]")))?;
        let end = |s: &str| -> Result<Option<Value>> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                parse_value(f, s).map(Some)
            }
        };
        return Ok(Match::Range(end(a)?, end(b)?));
    }
    for (open, close, all) in [('{', '}', false), ('(', ')', true)] {
        if let Some(inner) = raw.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            let values = split_list(inner)?
                .into_iter()
                .map(|v| parse_value(f, v))
                .collect::<Result<Vec<_>>>()?;
            if values.is_empty() {
                return Err(bad(format!("empty list in {}={raw}", f.key)));
            }
            return Ok(if all {
                Match::AllOf(values)
            } else {
                Match::AnyOf(values)
            });
        }
    }
    Ok(Match::Exact(parse_value(f, raw)?))
}

fn split_list(inner: &str) -> Result<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').ok_or_else(|| bad("unterminated quote"))?;
            out.push(&rest[..end + 2]);
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
    }
    Ok(out)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn parse_value(f: Field, raw: &str) -> Result<Value> {
    let s = unquote(raw.trim());
    match f.kind {
        Kind::Text => Ok(Value::Text(s.to_owned())),
        Kind::Int => s
            .parse()
            .map(Value::Int)
            .map_err(|_| bad(format!("{} needs an integer, not {s:?}", f.key))),
        Kind::Bool => match s {
            "true" | "1" => Ok(Value::Int(1)),
            "false" | "0" => Ok(Value::Int(0)),
            _ => Err(bad(format!("{} needs true or false, not {s:?}", f.key))),
        },
        Kind::Time => {
            if let Ok(n) = s.parse::<i64>() {
                // Unix seconds; beyond what milliseconds can hold is bad input, not a panic.
                return n
                    .checked_mul(1000)
                    .map(Value::Int)
                    .ok_or_else(|| bad(format!("{} is out of range: {s:?}", f.key)));
            }
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
                .map(|t| Value::Int(t.and_utc().timestamp_millis()))
                .map_err(|_| {
                    bad(format!(
                        "{} needs a time like \"2024-01-31 12:00:00\", not {s:?}",
                        f.key
                    ))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[
        field("name", "p.name", Kind::Text),
        field("project_id", "p.id", Kind::Int),
        field("creation_time", "p.created_at", Kind::Time),
        field("public", "p.public", Kind::Bool),
    ];

    fn parse(q: &str) -> Result<ListSpec> {
        ListQuery::new().q(q).parse(FIELDS, &[("p.name", false)])
    }

    #[test]
    fn grammar() {
        let s = parse("name=~dev,project_id={1 2 3},public=true").unwrap();
        assert_eq!(s.filters[0].matcher, Match::Fuzzy("dev".into()));
        assert_eq!(
            s.filters[1].matcher,
            Match::AnyOf(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
        );
        assert_eq!(s.filters[2].matcher, Match::Exact(Value::Int(1)));
        let s = parse("creation_time=[\"2020-04-09 02:36:00\"~]").unwrap();
        assert_eq!(
            s.filters[0].matcher,
            Match::Range(Some(Value::Int(1_586_399_760_000)), None)
        );
        let s = parse("name=\"a,b\"").unwrap();
        assert_eq!(
            s.filters[0].matcher,
            Match::Exact(Value::Text("a,b".into()))
        );
        assert_eq!(s.sort, vec![("p.name", false)]);
        let s = ListQuery::new()
            .sort("-creation_time,name")
            .parse(FIELDS, &[])
            .unwrap();
        assert_eq!(s.sort, vec![("p.created_at", true), ("p.name", false)]);
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        for q in [
            "owner=x",
            "name",
            "project_id=abc",
            "project_id=~1",
            "name={",
            "creation_time=[yesterday~]",
            // Found by fuzzing: seconds past what milliseconds hold used to overflow.
            "creation_time=[~16094222222229200]",
            "public=maybe",
        ] {
            let e = parse(q).unwrap_err();
            assert_eq!(e.code().as_str(), "BAD_REQUEST", "{q}");
        }
        assert!(ListQuery::new().sort("nope").parse(FIELDS, &[]).is_err());
        assert!(ListQuery::new().page(1, 101).parse(FIELDS, &[]).is_err());
        assert!(ListQuery::new().page(0, 10).parse(FIELDS, &[]).is_err());
        let s = ListQuery::new().page(3, 20).parse(FIELDS, &[]).unwrap();
        assert_eq!((s.limit(), s.offset()), (20, 40));
    }
}
