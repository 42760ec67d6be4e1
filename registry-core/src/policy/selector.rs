//! Artifact selectors: which repositories, tags and labels a rule applies to. Shared by immutable
//! tag rules, tag retention and (later) replication filters.
//!
//! A selector on the wire is Harbor's `{kind, decoration, pattern, extras}`:
//!
//! | kind | decorations | pattern |
//! |---|---|---|
//! | `doublestar` | `matches`/`excludes` (tags), `repoMatches`/`repoExcludes` (repositories) | a glob: `*` within one path segment, `**` across segments, `?`, `[a-z]`, `{a,b}` |
//! | `regex` | the same four | a regular expression that must match the **whole** name (`^(?:…)$` is implied) |
//! | `label` | `withLabels`/`withoutLabels` (tag selectors only) | label names separated by commas |
//!
//! Repository patterns match the repository name **without the project** (`library/app/web` is
//! matched as `app/web`), as Harbor does (it splits candidates with `utils.ParseRepository`).
//! Tag selectors match an artifact when any of its tags matches (`matches`) or any of its tags
//! does not match (`excludes`); an untagged artifact is selected according to `extras`
//! `{"untagged": bool}`, which defaults to true for `matches` and false for `excludes`.
//! Label selectors: `withLabels` needs every listed label on the artifact, `withoutLabels` none
//! of them. All selectors of one rule must agree (they are AND-ed).
//!
//! Every pattern is compiled once, when a rule is stored or loaded; a pattern that does not
//! compile is a `BAD_REQUEST` naming it.

use std::collections::BTreeMap;

use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};

use crate::error::{Error, Result};
use crate::model::RuleSelector;

pub const DOUBLESTAR: &str = "doublestar";
pub const REGEX: &str = "regex";
pub const LABEL: &str = "label";

/// Longest pattern accepted.
const MAX_PATTERN: usize = 1024;
/// Compiled-program budget of one regular expression (bounds memory and matching time).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn bad(reason: String) -> Error {
    Error::BadRequest { reason }
}

/// A compiled name pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    Glob(GlobMatcher),
    Regex(Regex),
}

impl Pattern {
    /// Compile `pattern` as `kind` (`doublestar` or `regex`).
    pub fn compile(kind: &str, pattern: &str) -> Result<Self> {
        if pattern.is_empty() {
            return Err(bad(format!("{kind} pattern must not be empty")));
        }
        if pattern.len() > MAX_PATTERN {
            return Err(bad(format!(
                "{kind} pattern {:?}… is longer than {MAX_PATTERN} bytes",
                pattern.chars().take(32).collect::<String>()
            )));
        }
        match kind {
            DOUBLESTAR => GlobBuilder::new(pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map(|g| Self::Glob(g.compile_matcher()))
                .map_err(|e| {
                    bad(format!(
                        "invalid doublestar pattern {pattern:?}: {}",
                        e.kind()
                    ))
                }),
            REGEX => RegexBuilder::new(&format!("^(?:{pattern})$"))
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Self::Regex)
                .map_err(|e| {
                    bad(format!(
                        "invalid regex pattern {pattern:?}: {}",
                        first_line(&e.to_string())
                    ))
                }),
            other => Err(bad(format!(
                "unknown selector kind {other:?}; use doublestar or regex"
            ))),
        }
    }

    pub fn is_match(&self, name: &str) -> bool {
        match self {
            Self::Glob(g) => g.is_match(name),
            Self::Regex(r) => r.is_match(name),
        }
    }
}

/// The regex crate's messages draw the pattern over several lines; the last line says what is wrong.
fn first_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(msg)
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

/// A tag selector (`matches`/`excludes`).
#[derive(Debug, Clone)]
pub struct TagSelector {
    pattern: Pattern,
    exclude: bool,
    untagged: bool,
}

impl TagSelector {
    /// Whether this one tag is selected.
    pub fn matches_tag(&self, tag: &str) -> bool {
        self.pattern.is_match(tag) != self.exclude
    }

    /// Whether an artifact carrying `tags` is selected.
    pub fn selects<S: AsRef<str>>(&self, tags: &[S]) -> bool {
        if tags.is_empty() {
            self.untagged
        } else {
            tags.iter().any(|t| self.matches_tag(t.as_ref()))
        }
    }
}

/// A repository selector (`repoMatches`/`repoExcludes`), on names without the project.
#[derive(Debug, Clone)]
pub struct RepoSelector {
    pattern: Pattern,
    exclude: bool,
}

impl RepoSelector {
    pub fn matches(&self, repo: &str) -> bool {
        self.pattern.is_match(repo) != self.exclude
    }
}

/// A label selector (`withLabels`/`withoutLabels`).
#[derive(Debug, Clone)]
pub struct LabelSelector {
    names: Vec<String>,
    without: bool,
}

impl LabelSelector {
    pub fn selects<S: AsRef<str>>(&self, labels: &[S]) -> bool {
        let has = |n: &String| labels.iter().any(|l| l.as_ref() == n);
        if self.without {
            !self.names.iter().any(has)
        } else {
            self.names.iter().all(has)
        }
    }
}

/// The `untagged` flag of `extras` (`{"untagged": true}`), or its default.
fn untagged(extras: &str, default: bool) -> Result<bool> {
    if extras.trim().is_empty() {
        return Ok(default);
    }
    let v: serde_json::Value = serde_json::from_str(extras).map_err(|e| {
        bad(format!(
            "selector extras {extras:?} is not a JSON object: {e}"
        ))
    })?;
    match v.get("untagged") {
        None => Ok(default),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(other) => Err(bad(format!(
            "selector extras: untagged must be true or false, not {other}"
        ))),
    }
}

/// The compiled selectors of one rule. Everything listed must agree.
#[derive(Debug, Clone, Default)]
pub struct RuleSelectors {
    pub tags: Vec<TagSelector>,
    pub labels: Vec<LabelSelector>,
    pub repos: Vec<RepoSelector>,
}

impl RuleSelectors {
    /// Compile a rule's `tag_selectors` and `scope_selectors`. `allow_labels`: whether label
    /// selectors may appear among the tag selectors (retention; not immutability, which is
    /// about tags).
    pub fn compile(
        tag_selectors: &[RuleSelector],
        scope_selectors: &BTreeMap<String, Vec<RuleSelector>>,
        allow_labels: bool,
    ) -> Result<Self> {
        let mut out = Self::default();
        if tag_selectors.is_empty() {
            return Err(bad(
                "a rule needs at least one tag selector (e.g. doublestar matches **)".into(),
            ));
        }
        for s in tag_selectors {
            match (s.kind.as_str(), s.decoration.as_str()) {
                (LABEL, d @ ("withLabels" | "withoutLabels")) if allow_labels => {
                    let names: Vec<String> = s
                        .pattern
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if names.is_empty() {
                        return Err(bad("a label selector needs at least one label name".into()));
                    }
                    out.labels.push(LabelSelector {
                        names,
                        without: d == "withoutLabels",
                    });
                }
                (LABEL, _) if !allow_labels => {
                    return Err(bad("label selectors are not available in this rule".into()));
                }
                (kind, d @ ("matches" | "excludes")) => {
                    let exclude = d == "excludes";
                    out.tags.push(TagSelector {
                        pattern: Pattern::compile(kind, &s.pattern)?,
                        exclude,
                        untagged: untagged(&s.extras, !exclude)?,
                    });
                }
                (kind, d) => {
                    return Err(bad(format!(
                        "tag selector decoration {d:?} is not valid for kind {kind:?} (matches, excludes{})",
                        if allow_labels {
                            "; label: withLabels, withoutLabels"
                        } else {
                            ""
                        }
                    )));
                }
            }
        }
        for (scope, selectors) in scope_selectors {
            if scope != "repository" {
                return Err(bad(format!(
                    "unknown scope selector {scope:?}; only repository is supported"
                )));
            }
            for s in selectors {
                let exclude = match s.decoration.as_str() {
                    "repoMatches" => false,
                    "repoExcludes" => true,
                    d => {
                        return Err(bad(format!(
                            "repository selector decoration {d:?} is not valid (repoMatches, repoExcludes)"
                        )));
                    }
                };
                out.repos.push(RepoSelector {
                    pattern: Pattern::compile(&s.kind, &s.pattern)?,
                    exclude,
                });
            }
        }
        Ok(out)
    }

    /// Whether the rule applies to `repo` (the repository name without its project).
    pub fn repo_matches(&self, repo: &str) -> bool {
        self.repos.iter().all(|r| r.matches(repo))
    }

    /// Whether one tag is selected by every tag selector (label selectors aside).
    pub fn tag_matches(&self, tag: &str) -> bool {
        self.tags.iter().all(|t| t.matches_tag(tag))
    }

    /// Whether an artifact with these tags and labels is selected.
    pub fn selects<S: AsRef<str>, L: AsRef<str>>(&self, tags: &[S], labels: &[L]) -> bool {
        self.tags.iter().all(|t| t.selects(tags)) && self.labels.iter().all(|l| l.selects(labels))
    }
}

/// A repository name without its project (`library/app/web` → `app/web`).
pub fn repo_in_project(full: &str) -> &str {
    full.split_once('/').map_or(full, |(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(kind: &str, decoration: &str, pattern: &str, extras: &str) -> RuleSelector {
        RuleSelector {
            kind: kind.into(),
            decoration: decoration.into(),
            pattern: pattern.into(),
            extras: extras.into(),
        }
    }

    fn rule(tags: Vec<RuleSelector>, repos: Vec<RuleSelector>) -> Result<RuleSelectors> {
        let scope = if repos.is_empty() {
            BTreeMap::new()
        } else {
            [("repository".to_owned(), repos)].into_iter().collect()
        };
        RuleSelectors::compile(&tags, &scope, true)
    }

    #[test]
    fn doublestar_segments() {
        let p = Pattern::compile(DOUBLESTAR, "app/*").unwrap();
        assert!(p.is_match("app/web"));
        assert!(!p.is_match("app/web/x"), "* stays within a segment");
        let p = Pattern::compile(DOUBLESTAR, "app/**").unwrap();
        assert!(p.is_match("app/web/x") && p.is_match("app/web"));
        assert!(!p.is_match("other/web"));
        let p = Pattern::compile(DOUBLESTAR, "**").unwrap();
        assert!(p.is_match("a") && p.is_match("a/b/c"));
        let p = Pattern::compile(DOUBLESTAR, "v{1,2}.?").unwrap();
        assert!(p.is_match("v1.0") && p.is_match("v2.9"));
        assert!(!p.is_match("v3.0") && !p.is_match("v1.10"));
        let p = Pattern::compile(DOUBLESTAR, "release-[0-9]*").unwrap();
        assert!(p.is_match("release-3-rc") && !p.is_match("release-x"));
    }

    #[test]
    fn regex_is_anchored_on_both_ends() {
        let p = Pattern::compile(REGEX, r"v\d+\.\d+\.\d+").unwrap();
        assert!(p.is_match("v1.2.3"));
        assert!(!p.is_match("v1.2.3-rc1"), "no match on a prefix");
        assert!(!p.is_match("xv1.2.3"), "no match on a suffix");
        let p = Pattern::compile(REGEX, "a|b").unwrap();
        assert!(
            p.is_match("a") && p.is_match("b") && !p.is_match("ab"),
            "alternation stays inside the anchors"
        );
    }

    #[test]
    fn invalid_patterns_name_themselves() {
        let e = Pattern::compile(REGEX, "v(1").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::BadRequest);
        assert!(e.to_string().contains("\"v(1\""), "{e}");
        let e = Pattern::compile(DOUBLESTAR, "a[b").unwrap_err();
        assert!(e.to_string().contains("\"a[b\""), "{e}");
        let e = Pattern::compile("glob", "x").unwrap_err();
        assert!(e.to_string().contains("glob"), "{e}");
        assert!(Pattern::compile(REGEX, "").is_err());
        assert!(Pattern::compile(REGEX, &"a".repeat(2000)).is_err());
        assert!(
            Pattern::compile(REGEX, "(a{1000}){1000}").is_err(),
            "over the size limit"
        );
    }

    #[test]
    fn tag_selectors_and_untagged() {
        let r = rule(vec![sel(DOUBLESTAR, "matches", "v*", "")], vec![]).unwrap();
        assert!(
            r.selects(&["v1", "latest"], &[] as &[&str]),
            "any tag matching is enough"
        );
        assert!(!r.selects(&["latest"], &[] as &[&str]));
        assert!(
            r.selects(&[] as &[&str], &[] as &[&str]),
            "untagged defaults to selected for matches"
        );
        let r = rule(
            vec![sel(DOUBLESTAR, "matches", "v*", r#"{"untagged":false}"#)],
            vec![],
        )
        .unwrap();
        assert!(!r.selects(&[] as &[&str], &[] as &[&str]));
        let r = rule(vec![sel(REGEX, "excludes", "latest|dev-.*", "")], vec![]).unwrap();
        assert!(
            r.selects(&["latest", "v1"], &[] as &[&str]),
            "any tag not matching is enough"
        );
        assert!(!r.selects(&["latest", "dev-3"], &[] as &[&str]));
        assert!(
            !r.selects(&[] as &[&str], &[] as &[&str]),
            "untagged defaults to unselected for excludes"
        );
        assert!(r.tag_matches("v1") && !r.tag_matches("latest"));
        assert!(rule(vec![sel(DOUBLESTAR, "matches", "*", "{nope")], vec![]).is_err());
        assert!(
            rule(
                vec![sel(DOUBLESTAR, "matches", "*", r#"{"untagged":"yes"}"#)],
                vec![]
            )
            .is_err()
        );
    }

    #[test]
    fn repository_and_label_selectors() {
        let r = rule(
            vec![sel(DOUBLESTAR, "matches", "**", "")],
            vec![sel(DOUBLESTAR, "repoMatches", "app/**", "")],
        )
        .unwrap();
        assert!(r.repo_matches(repo_in_project("library/app/web")));
        assert!(!r.repo_matches(repo_in_project("library/db")));
        let r = rule(
            vec![sel(DOUBLESTAR, "matches", "**", "")],
            vec![sel(REGEX, "repoExcludes", "tmp-.*", "")],
        )
        .unwrap();
        assert!(r.repo_matches("web") && !r.repo_matches("tmp-1"));
        let r = rule(vec![sel(LABEL, "withLabels", "prod, keep", "")], vec![]).unwrap();
        assert!(r.selects(&["x"], &["keep", "prod", "other"]));
        assert!(!r.selects(&["x"], &["prod"]));
        let r = rule(vec![sel(LABEL, "withoutLabels", "tmp", "")], vec![]).unwrap();
        assert!(r.selects(&["x"], &["prod"]) && !r.selects(&["x"], &["tmp"]));
        let scope = BTreeMap::new();
        assert!(
            RuleSelectors::compile(&[sel(LABEL, "withLabels", "a", "")], &scope, false).is_err()
        );
        assert!(rule(vec![], vec![]).is_err(), "a tag selector is required");
        assert!(rule(vec![sel(DOUBLESTAR, "repoMatches", "**", "")], vec![]).is_err());
        assert!(
            rule(
                vec![sel(DOUBLESTAR, "matches", "**", "")],
                vec![sel(DOUBLESTAR, "matches", "**", "")]
            )
            .is_err()
        );
        let bad_scope = [(
            "namespace".to_owned(),
            vec![sel(DOUBLESTAR, "repoMatches", "**", "")],
        )]
        .into_iter()
        .collect();
        assert!(
            RuleSelectors::compile(&[sel(DOUBLESTAR, "matches", "**", "")], &bad_scope, true)
                .is_err()
        );
        assert_eq!(repo_in_project("library"), "library");
    }
}
