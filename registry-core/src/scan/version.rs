//! Version order of the package ecosystems vulnerability advisories name.
//!
//! OSV advisories (<https://ossf.github.io/osv-schema/>) give an affected range as `introduced`,
//! `fixed` and `last_affected` events over versions of type `ECOSYSTEM` (the ecosystem's own
//! order) or `SEMVER`. [`Scheme::for_ecosystem`] picks the order an OSV ecosystem name uses and
//! [`compare`] compares two versions in it. Each order is written from its ecosystem's own rules:
//!
//! - [`Scheme::Dpkg`] follows Debian Policy §5.6.12,
//!   `[epoch:]upstream_version[-debian_revision]`.
//! - [`Scheme::Rpm`] follows rpm's `rpmvercmp` on `[epoch:]version[-release]`, `~` and `^` too.
//! - [`Scheme::Apk`] follows apk-tools' Gentoo-like format, `1.2.3a_rc1_p2-r4`.
//! - [`Scheme::Semver`] follows Semantic Versioning 2.0.0, lenient about missing parts.
//! - [`Scheme::Go`] follows Go module versions; pseudo-versions are pre-releases.
//! - [`Scheme::Pep440`] follows PEP 440, with its normalizations of spellings and separators.
//! - [`Scheme::Maven`] follows the POM reference's version order (`ComparableVersion`).
//! - [`Scheme::Rubygems`] follows `Gem::Version`.
//!
//! Numbers are compared as digit strings (leading zeros dropped, then by length), never parsed
//! into machine integers, so arbitrarily long ones neither overflow nor panic.
//!
//! OSV's `introduced: "0"` ("from the beginning") is the caller's to handle.

use std::cmp::Ordering;

/// A version order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Debian and Ubuntu (`dpkg --compare-versions`).
    Dpkg,
    /// Alpine, Wolfi and Chainguard (apk-tools).
    Apk,
    /// Red Hat, AlmaLinux, Rocky Linux, (open)SUSE, Mageia, openEuler (`rpmvercmp`).
    Rpm,
    /// Semantic Versioning 2.0.0: npm, crates.io, NuGet, Hex, Pub, Packagist.
    Semver,
    /// PEP 440: PyPI.
    Pep440,
    /// Maven's `ComparableVersion`.
    Maven,
    /// Go modules.
    Go,
    /// RubyGems' `Gem::Version`.
    Rubygems,
}

/// OSV ecosystem names (the part before any ':') and their orders.
const ECOSYSTEMS: &[(&str, Scheme)] = &[
    ("Debian", Scheme::Dpkg),
    ("Ubuntu", Scheme::Dpkg),
    ("Alpine", Scheme::Apk),
    ("Wolfi", Scheme::Apk),
    ("Chainguard", Scheme::Apk),
    ("Red Hat", Scheme::Rpm),
    ("AlmaLinux", Scheme::Rpm),
    ("Rocky Linux", Scheme::Rpm),
    ("openSUSE", Scheme::Rpm),
    ("SUSE", Scheme::Rpm),
    ("Mageia", Scheme::Rpm),
    ("openEuler", Scheme::Rpm),
    ("PyPI", Scheme::Pep440),
    ("npm", Scheme::Semver),
    ("crates.io", Scheme::Semver),
    ("NuGet", Scheme::Semver),
    ("Hex", Scheme::Semver),
    ("Pub", Scheme::Semver),
    ("Packagist", Scheme::Semver),
    ("Go", Scheme::Go),
    ("Maven", Scheme::Maven),
    ("RubyGems", Scheme::Rubygems),
];

impl Scheme {
    /// The order an OSV ecosystem name uses: "Debian", "Debian:12", "Ubuntu",
    /// "Ubuntu:22.04:LTS" -> [`Dpkg`](Scheme::Dpkg); "Alpine", "Alpine:v3.19", "Wolfi",
    /// "Chainguard" -> [`Apk`](Scheme::Apk); "Red Hat", "Red Hat:...", "AlmaLinux",
    /// "AlmaLinux:9", "Rocky Linux", "Rocky Linux:9", "openSUSE", "SUSE", "Mageia", "openEuler"
    /// -> [`Rpm`](Scheme::Rpm); "PyPI" -> [`Pep440`](Scheme::Pep440); "npm", "crates.io",
    /// "NuGet", "Hex", "Pub", "Packagist" -> [`Semver`](Scheme::Semver); "Go" ->
    /// [`Go`](Scheme::Go); "Maven" -> [`Maven`](Scheme::Maven); "RubyGems" ->
    /// [`Rubygems`](Scheme::Rubygems).
    ///
    /// Only the part before the first ':' counts (ASCII case ignored). Unknown -> `None`.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let name = ecosystem
            .split_once(':')
            .map_or(ecosystem, |(name, _)| name)
            .trim();
        ECOSYSTEMS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, scheme)| scheme)
    }
}

/// Compare two versions in `scheme`'s order. `None` when either does not parse in that scheme
/// (dpkg, rpm, apk and Maven are lenient and compare anything; semver, Go, PEP 440 and RubyGems
/// return `None` for garbage).
///
/// Versions the scheme deems equivalent compare `Equal` even when spelled differently
/// (`1.0` and `1.0.0` in PEP 440, `1.0.0+build` and `1.0.0` in semver, `0:1.0` and `1.0` in dpkg).
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    match scheme {
        Scheme::Dpkg => Some(dpkg::compare(a, b)),
        Scheme::Apk => Some(apk::compare(a, b)),
        Scheme::Rpm => Some(rpm::compare(a, b)),
        Scheme::Semver => semver2::compare(a, b, semver2::Flavor::Semver),
        Scheme::Go => semver2::compare(a, b, semver2::Flavor::Go),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Maven => Some(maven::compare(a, b)),
        Scheme::Rubygems => gem::compare(a, b),
    }
}

/// A run of ASCII digits ordered by value without parsing it: leading zeros are dropped, then a
/// longer run is larger and runs of one length compare bytewise. Zero is the empty run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Num<'a>(&'a [u8]);

impl<'a> Num<'a> {
    const ZERO: Self = Num(&[]);

    /// `digits` must be ASCII digits only (possibly none, which is zero).
    fn new(digits: &'a [u8]) -> Self {
        let zeros = digits.iter().take_while(|&&c| c == b'0').count();
        Num(&digits[zeros..])
    }

    fn of(digits: &'a str) -> Self {
        Self::new(digits.as_bytes())
    }

    fn is_zero(self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Num<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(other.0))
    }
}

impl PartialOrd for Num<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Non-empty and ASCII digits only.
fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// dpkg's and rpm's `[epoch:]version[-revision]`: the epoch is the digits before the first ':'
/// (0 when there are none; a non-numeric "epoch" stays part of the version), the revision (rpm:
/// release) is what follows the last '-' (empty when there is none).
fn epoch_version_release(v: &str) -> (Num<'_>, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((epoch, rest)) if all_digits(epoch) => (Num::of(epoch), rest),
        _ => (Num::ZERO, v),
    };
    let (version, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, version, revision)
}

/// How many ASCII digits `s` starts with.
fn digit_run(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Lexicographic order of two sequences under `cmp`, a shorter prefix first.
fn lexicographic<T>(a: &[T], b: &[T], cmp: impl Fn(&T, &T) -> Ordering) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp(x, y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// Debian Policy §5.6.12.
mod dpkg {
    use super::{Num, Ordering};

    pub(super) fn compare(a: &str, b: &str) -> Ordering {
        let (a, b) = (
            super::epoch_version_release(a),
            super::epoch_version_release(b),
        );
        a.0.cmp(&b.0)
            .then_with(|| verrevcmp(a.1, b.1))
            .then_with(|| verrevcmp(a.2, b.2))
    }

    /// The weight of a character in a non-digit part; `None` is the end of that part (a digit or
    /// the end of the string). `~` sorts before everything, even the end; letters sort before
    /// every other character.
    fn weight(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }

    /// Policy's comparison of an upstream version (or a revision): alternately the initial
    /// non-digit parts, character by character by [`weight`], and the initial digit parts,
    /// numerically (an absent one is 0).
    fn verrevcmp(a: &str, b: &str) -> Ordering {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            loop {
                let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
                let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
                if ca.is_none() && cb.is_none() {
                    break;
                }
                // Equal weights are the same character on both sides (never the end).
                match weight(ca).cmp(&weight(cb)) {
                    Ordering::Equal => (i, j) = (i + 1, j + 1),
                    other => return other,
                }
            }
            let (na, nb) = (super::digit_run(&a[i..]), super::digit_run(&b[j..]));
            match Num::new(&a[i..i + na]).cmp(&Num::new(&b[j..j + nb])) {
                Ordering::Equal => (i, j) = (i + na, j + nb),
                other => return other,
            }
        }
        Ordering::Equal
    }
}

/// rpm's `rpmvercmp`, applied to epoch, version and release.
mod rpm {
    use super::{Num, Ordering};

    /// Epoch first (absent is 0), then version, then release. A missing release compares as an
    /// empty one, i.e. before any release (`1.0 < 1.0-1`), which keeps the order total.
    pub(super) fn compare(a: &str, b: &str) -> Ordering {
        let (a, b) = (
            super::epoch_version_release(a),
            super::epoch_version_release(b),
        );
        a.0.cmp(&b.0)
            .then_with(|| vercmp(a.1, b.1))
            .then_with(|| vercmp(a.2, b.2))
    }

    /// Anything but an ASCII letter, digit, `~` or `^` only separates segments.
    fn separator(c: u8) -> bool {
        !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
    }

    /// How long the run of digits (or of letters) at the start of `s` is.
    fn run(s: &[u8], digits: bool) -> usize {
        s.iter()
            .take_while(|c| {
                if digits {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_alphabetic()
                }
            })
            .count()
    }

    /// Segments are maximal runs of digits or of letters; separators only split them. A numeric
    /// segment is newer than an alphabetic one; numbers compare by value, letters bytewise. `~`
    /// sorts before anything, the end included; `^` sorts after the end but before any segment.
    /// When one side runs out of segments, the side with segments left is newer.
    pub(super) fn vercmp(a: &str, b: &str) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        loop {
            i += a[i..].iter().take_while(|&&c| separator(c)).count();
            j += b[j..].iter().take_while(|&&c| separator(c)).count();
            let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
            if ca == Some(b'~') || cb == Some(b'~') {
                if ca != Some(b'~') {
                    return Ordering::Greater;
                }
                if cb != Some(b'~') {
                    return Ordering::Less;
                }
                (i, j) = (i + 1, j + 1);
                continue;
            }
            if ca == Some(b'^') || cb == Some(b'^') {
                match (ca, cb) {
                    (None, _) => return Ordering::Less,
                    (_, None) => return Ordering::Greater,
                    (Some(b'^'), Some(b'^')) => {
                        (i, j) = (i + 1, j + 1);
                        continue;
                    }
                    (Some(b'^'), _) => return Ordering::Less,
                    _ => return Ordering::Greater,
                }
            }
            let (Some(ca), Some(_)) = (ca, cb) else {
                break;
            };
            let numeric = ca.is_ascii_digit();
            let (na, nb) = (run(&a[i..], numeric), run(&b[j..], numeric));
            if nb == 0 {
                // Segments of different kinds: the numeric one is newer.
                return if numeric {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            let (sa, sb) = (&a[i..i + na], &b[j..j + nb]);
            let ord = if numeric {
                Num::new(sa).cmp(&Num::new(sb))
            } else {
                sa.cmp(sb)
            };
            if ord.is_ne() {
                return ord;
            }
            (i, j) = (i + na, j + nb);
        }
        match (i < a.len(), j < b.len()) {
            (false, false) => Ordering::Equal,
            (true, _) => Ordering::Greater,
            (false, true) => Ordering::Less,
        }
    }
}

/// apk-tools' version format: `digits{.digits}[letter]{_suffix[digits]}[-r<digits>]`.
///
/// A version is read as a stream of tokens, each with a kind and a value; two versions compare
/// token by token while kinds and values agree. At the first difference in value the values
/// decide; at the first difference in kind the version that stops earlier is older, unless the
/// other one continues with a pre-release suffix (`_alpha`, `_beta`, `_pre`, `_rc`). Anything
/// that does not fit the format ends the stream as "invalid" (never a panic): such a tail sorts
/// after the end, and two invalid tails at the same place compare equal, as apk does.
mod apk {
    use super::{Num, Ordering};

    /// Token kinds in apk's order: a version whose next kind is larger has ended sooner and is
    /// older (a pre-release suffix excepted).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Kind {
        Invalid,
        /// A number after '.', where leading zeros are significant.
        DigitOrZero,
        Digit,
        Letter,
        Suffix,
        SuffixNo,
        RevisionNo,
        End,
    }

    /// Pre-release suffixes: lower than no suffix (values -4 to -1).
    const PRE: [&str; 4] = ["alpha", "beta", "pre", "rc"];
    /// Post-release suffixes: higher than no suffix (values 0 to 4).
    const POST: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

    /// A token's value: all of them are integers in apk; here numbers keep their digits so that
    /// any length compares correctly.
    #[derive(Debug, Clone, Copy)]
    enum Value<'a> {
        Int(i64),
        Num(Num<'a>),
    }

    impl Ord for Value<'_> {
        fn cmp(&self, other: &Self) -> Ordering {
            fn int_vs_num(x: i64, n: Num<'_>) -> Ordering {
                if x < 0 || n.0.len() > 18 {
                    return Ordering::Less;
                }
                let n =
                    n.0.iter()
                        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
                x.cmp(&n)
            }
            match (*self, *other) {
                (Value::Int(x), Value::Int(y)) => x.cmp(&y),
                (Value::Num(x), Value::Num(y)) => x.cmp(&y),
                (Value::Int(x), Value::Num(y)) => int_vs_num(x, y),
                (Value::Num(x), Value::Int(y)) => int_vs_num(y, x).reverse(),
            }
        }
    }

    impl PartialOrd for Value<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }

    impl PartialEq for Value<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.cmp(other).is_eq()
        }
    }

    impl Eq for Value<'_> {}

    /// The value of a suffix name at the start of `s` and the name's length; `None` when it is
    /// none of the known ones.
    fn suffix(s: &[u8]) -> Option<(i64, usize)> {
        let pre = PRE.iter().zip(-4i64..);
        let post = POST.iter().zip(0i64..);
        pre.chain(post)
            .find(|(name, _)| s.starts_with(name.as_bytes()))
            .map(|(name, value)| (value, name.len()))
    }

    struct Tokens<'a> {
        s: &'a [u8],
        at: usize,
        /// The kind of the next token.
        kind: Kind,
    }

    impl<'a> Tokens<'a> {
        fn new(s: &'a str) -> Self {
            Tokens {
                s: s.as_bytes(),
                at: 0,
                kind: Kind::Digit,
            }
        }

        fn rest(&self) -> &'a [u8] {
            &self.s[self.at..]
        }

        /// Whether the next token is a pre-release (or unknown) suffix.
        fn at_pre_suffix(&self) -> bool {
            self.kind == Kind::Suffix && suffix(self.rest()).is_none_or(|(value, _)| value < 0)
        }

        /// Reads the next token (of kind `self.kind`) and works out the kind of the one after.
        fn next_value(&mut self) -> Value<'a> {
            let rest = self.rest();
            if rest.is_empty() {
                self.kind = Kind::End;
                return Value::Int(0);
            }
            let mut forced = None;
            let (value, len) = match self.kind {
                Kind::DigitOrZero if rest[0] == b'0' => {
                    // Leading zeros after a '.' count as a negative number of zeros; the digits
                    // after them are a token of their own.
                    let zeros = rest.iter().take_while(|&&c| c == b'0').count();
                    forced = Some(Kind::Digit);
                    (Value::Int(-i64::try_from(zeros).unwrap_or(i64::MAX)), zeros)
                }
                Kind::DigitOrZero | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
                    let n = super::digit_run(rest);
                    (Value::Num(Num::new(&rest[..n])), n)
                }
                Kind::Letter => (Value::Int(i64::from(rest[0])), 1),
                Kind::Suffix => match suffix(rest) {
                    Some((value, len)) => (Value::Int(value), len),
                    None => {
                        self.kind = Kind::Invalid;
                        return Value::Int(-1);
                    }
                },
                Kind::Invalid | Kind::End => {
                    self.kind = Kind::Invalid;
                    return Value::Int(-1);
                }
            };
            self.at += len;
            if self.at == self.s.len() {
                self.kind = Kind::End;
            } else if let Some(kind) = forced {
                self.kind = kind;
            } else {
                self.advance_kind();
            }
            value
        }

        /// Works out the kind of the next token from what follows, consuming its separator.
        fn advance_kind(&mut self) {
            let prev = self.kind;
            let rest = self.rest();
            let mut next = match rest.first().copied() {
                None => Kind::End,
                Some(c)
                    if matches!(prev, Kind::Digit | Kind::DigitOrZero)
                        && c.is_ascii_lowercase() =>
                {
                    Kind::Letter
                }
                Some(c) if prev == Kind::Letter && c.is_ascii_digit() => Kind::Digit,
                Some(c) if prev == Kind::Suffix && c.is_ascii_digit() => Kind::SuffixNo,
                Some(c) => {
                    self.at += 1;
                    match c {
                        b'.' => Kind::DigitOrZero,
                        b'_' => Kind::Suffix,
                        b'-' if rest.get(1) == Some(&b'r') => {
                            self.at += 1;
                            Kind::RevisionNo
                        }
                        _ => Kind::Invalid,
                    }
                }
            };
            // Parts come in order; going back is only allowed for another number component, a
            // further suffix, or digits after a letter.
            let allowed = matches!(
                (next, prev),
                (Kind::DigitOrZero, Kind::Digit)
                    | (Kind::Suffix, Kind::SuffixNo)
                    | (Kind::Digit, Kind::Letter)
            );
            if next < prev && !allowed {
                next = Kind::Invalid;
            }
            self.kind = next;
        }
    }

    pub(super) fn compare(a: &str, b: &str) -> Ordering {
        let (mut ta, mut tb) = (Tokens::new(a.trim()), Tokens::new(b.trim()));
        let (mut va, mut vb) = (Value::Int(0), Value::Int(0));
        while ta.kind == tb.kind && !matches!(ta.kind, Kind::End | Kind::Invalid) && va == vb {
            va = ta.next_value();
            vb = tb.next_value();
        }
        match va.cmp(&vb) {
            Ordering::Equal => {}
            other => return other,
        }
        if ta.kind == tb.kind {
            return Ordering::Equal;
        }
        if ta.at_pre_suffix() {
            return Ordering::Less;
        }
        if tb.at_pre_suffix() {
            return Ordering::Greater;
        }
        tb.kind.cmp(&ta.kind)
    }
}

/// Semantic Versioning 2.0.0 precedence (also Go module versions).
mod semver2 {
    use super::{Num, Ordering};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Flavor {
        /// Any number of numeric components (missing ones are 0: "1.2" == "1.2.0", and NuGet's
        /// four-part versions work), optional leading 'v'.
        Semver,
        /// Go: at most three numeric components, optional leading 'v'.
        Go,
    }

    struct Version<'a> {
        release: Vec<Num<'a>>,
        pre: Vec<&'a str>,
    }

    /// Non-empty, ASCII letters, digits and '-' only.
    fn identifier(s: &str) -> bool {
        !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    }

    fn parse(v: &str, flavor: Flavor) -> Option<Version<'_>> {
        let v = v.trim();
        let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
        // Build metadata is checked for shape, then ignored (Go's `+incompatible` too).
        let v = match v.split_once('+') {
            Some((v, build)) => build.split('.').all(identifier).then_some(v)?,
            None => v,
        };
        let (core, pre) = match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (v, None),
        };
        let release = core
            .split('.')
            .map(|part| super::all_digits(part).then(|| Num::of(part)))
            .collect::<Option<Vec<_>>>()?;
        if flavor == Flavor::Go && release.len() > 3 {
            return None;
        }
        let pre = match pre {
            Some(pre) => {
                let ids: Vec<&str> = pre.split('.').collect();
                ids.iter().all(|id| identifier(id)).then_some(ids)?
            }
            None => Vec::new(),
        };
        Some(Version { release, pre })
    }

    /// Numeric identifiers by value, below alphanumeric ones, which compare in ASCII order.
    fn identifier_cmp(x: &&str, y: &&str) -> Ordering {
        match (super::all_digits(x), super::all_digits(y)) {
            (true, true) => Num::of(x).cmp(&Num::of(y)),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        }
    }

    pub(super) fn compare(a: &str, b: &str, flavor: Flavor) -> Option<Ordering> {
        let (a, b) = (parse(a, flavor)?, parse(b, flavor)?);
        let len = a.release.len().max(b.release.len());
        fn part<'a>(v: &Version<'a>, i: usize) -> Num<'a> {
            v.release.get(i).copied().unwrap_or(Num::ZERO)
        }
        let release = (0..len)
            .map(|i| part(&a, i).cmp(&part(&b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal);
        // A pre-release sorts before its release; pre-releases compare identifier by identifier.
        let pre = match (a.pre.is_empty(), b.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => super::lexicographic(&a.pre, &b.pre, identifier_cmp),
        };
        Some(release.then(pre))
    }
}

/// PEP 440 (Python packages), including its normalizations.
mod pep440 {
    use super::{Num, Ordering};

    /// Where the pre-release places a version: a developmental release of a final (`1.0.dev1`)
    /// sorts before all pre-releases, a version without a pre-release after them.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Phase<'a> {
        DevOnly,
        /// 0 for a, 1 for b, 2 for rc.
        Pre(u8, Num<'a>),
        Final,
    }

    /// A developmental release sorts before the same version without one.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Dev<'a> {
        Dev(Num<'a>),
        Final,
    }

    /// A local version label segment: alphanumeric ones sort before numeric ones.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Local<'a> {
        Alpha(&'a str),
        Num(Num<'a>),
    }

    /// Epoch, release (trailing zeros dropped), pre, post (none first), dev, local (none first).
    type Key<'a> = (
        Num<'a>,
        Vec<Num<'a>>,
        Phase<'a>,
        Option<Num<'a>>,
        Dev<'a>,
        Option<Vec<Local<'a>>>,
    );

    /// Pre-release spellings and what they normalize to.
    const PRE: &[(&str, u8)] = &[
        ("alpha", 0),
        ("a", 0),
        ("beta", 1),
        ("b", 1),
        ("preview", 2),
        ("pre", 2),
        ("c", 2),
        ("rc", 2),
    ];
    /// Post-release spellings (all normalize to `post`).
    const POST: &[(&str, u8)] = &[("post", 0), ("rev", 0), ("r", 0)];

    struct Cursor<'a> {
        s: &'a str,
        at: usize,
    }

    impl<'a> Cursor<'a> {
        fn rest(&self) -> &'a str {
            &self.s[self.at..]
        }

        fn eat(&mut self, literal: &str) -> bool {
            let found = self.rest().starts_with(literal);
            if found {
                self.at += literal.len();
            }
            found
        }

        /// An optional '-', '_' or '.'.
        fn eat_separator(&mut self) {
            if self.rest().starts_with(['-', '_', '.']) {
                self.at += 1;
            }
        }

        fn number(&mut self) -> Option<Num<'a>> {
            let rest = self.rest();
            let n = super::digit_run(rest.as_bytes());
            if n == 0 {
                return None;
            }
            self.at += n;
            Some(Num::of(&rest[..n]))
        }

        /// The first of `words` the rest starts with (they are listed longest first where one is
        /// a prefix of another).
        fn keyword(&mut self, words: &[(&str, u8)]) -> Option<u8> {
            let rest = self.rest();
            let &(word, kind) = words.iter().find(|(word, _)| rest.starts_with(word))?;
            self.at += word.len();
            Some(kind)
        }

        /// `[sep]keyword[sep][number]`, the number defaulting to 0; nothing consumed if absent.
        fn labelled(&mut self, words: &[(&str, u8)]) -> Option<(u8, Num<'a>)> {
            let save = self.at;
            self.eat_separator();
            let Some(kind) = self.keyword(words) else {
                self.at = save;
                return None;
            };
            self.eat_separator();
            Some((kind, self.number().unwrap_or(Num::ZERO)))
        }
    }

    /// Parses a lowercased, trimmed version:
    /// `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]` with the spellings and separators
    /// PEP 440 normalizes.
    fn parse(v: &str) -> Option<Key<'_>> {
        let mut c = Cursor { s: v, at: 0 };
        c.eat("v");
        let save = c.at;
        let epoch = match c.number() {
            Some(n) if c.eat("!") => n,
            _ => {
                c.at = save;
                Num::ZERO
            }
        };
        let mut release = vec![c.number()?];
        loop {
            let save = c.at;
            if c.eat(".")
                && let Some(n) = c.number()
            {
                release.push(n);
                continue;
            }
            c.at = save;
            break;
        }
        let pre = c.labelled(PRE);
        // Post-release: either "-N" or `[sep]{post|rev|r}[sep][N]`.
        let save = c.at;
        let post = if c.eat("-")
            && let Some(n) = c.number()
        {
            Some(n)
        } else {
            c.at = save;
            c.labelled(POST).map(|(_, n)| n)
        };
        let dev = c.labelled(&[("dev", 0)]).map(|(_, n)| n);
        let local = if c.eat("+") {
            let segments = c
                .rest()
                .split(['-', '_', '.'])
                .map(|seg| {
                    if super::all_digits(seg) {
                        Some(Local::Num(Num::of(seg)))
                    } else if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        Some(Local::Alpha(seg))
                    } else {
                        None
                    }
                })
                .collect::<Option<Vec<_>>>()?;
            c.at = c.s.len();
            Some(segments)
        } else {
            None
        };
        if c.at != c.s.len() {
            return None;
        }
        while release.last().is_some_and(|n| n.is_zero()) {
            release.pop();
        }
        let pre = match (pre, &post, &dev) {
            (Some((kind, n)), _, _) => Phase::Pre(kind, n),
            (None, None, Some(_)) => Phase::DevOnly,
            _ => Phase::Final,
        };
        Some((
            epoch,
            release,
            pre,
            post,
            dev.map_or(Dev::Final, Dev::Dev),
            local,
        ))
    }

    pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
        let (a, b) = (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase());
        Some(parse(&a)?.cmp(&parse(&b)?))
    }
}

/// Maven's version order, as the POM reference specifies it and `ComparableVersion` (3.9 and
/// later) implements it.
///
/// A version (lowercased) is split into items at '.', '-' and every change between digits and
/// non-digits (which counts as '-'); an empty item is 0. Each item is a number after '.', a
/// number after '-', or a qualifier (where '.' and '-' are the same). Zeros that end the version
/// or precede a qualifier are dropped ("1.0.0" is "1", "1.0-rc" is "1-rc"). Versions then compare
/// item by item, the shorter one padded with 0 (opposite a '.' number) or the release qualifier
/// (opposite anything else): qualifier < '-' number < '.' number; qualifiers order alpha < beta <
/// milestone < rc = cr < snapshot < "" = ga = final = release < sp < any other, lexically; and
/// "a", "b", "m" directly followed by a digit mean alpha, beta, milestone.
mod maven {
    use super::{Num, Ordering};

    /// Known qualifiers in order; unknown ones come after, lexically.
    const KNOWN: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
    /// `""` (a release) in [`KNOWN`].
    const RELEASE: u8 = 5;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Qualifier<'a> {
        Known(u8),
        Other(&'a str),
    }

    /// Declared in increasing order across kinds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Item<'a> {
        Qualifier(Qualifier<'a>),
        Dash(Num<'a>),
        Dot(Num<'a>),
    }

    impl<'a> Item<'a> {
        /// What stands opposite this item where the other version has ended.
        fn padding(self) -> Item<'a> {
            match self {
                Item::Dot(_) => Item::Dot(Num::ZERO),
                _ => Item::Qualifier(Qualifier::Known(RELEASE)),
            }
        }

        fn is_zero(self) -> bool {
            matches!(self, Item::Dot(n) | Item::Dash(n) if n.is_zero())
        }
    }

    fn item(token: &str, after_dash: bool, followed_by_digit: bool) -> Item<'_> {
        if token.bytes().all(|c| c.is_ascii_digit()) {
            let n = Num::of(token);
            return if after_dash {
                Item::Dash(n)
            } else {
                Item::Dot(n)
            };
        }
        let name = match token {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "cr" => "rc",
            "ga" | "final" | "release" => "",
            other => other,
        };
        Item::Qualifier(match KNOWN.iter().position(|known| *known == name) {
            Some(i) => Qualifier::Known(u8::try_from(i).unwrap_or(u8::MAX)),
            None => Qualifier::Other(name),
        })
    }

    /// `v` must be lowercased already.
    fn parse(v: &str) -> Vec<Item<'_>> {
        let b = v.as_bytes();
        let mut items = Vec::new();
        let mut after_dash = false;
        let mut start = 0;
        for i in 0..=b.len() {
            match b.get(i).copied() {
                None => {
                    if i > start {
                        items.push(item(&v[start..i], after_dash, false));
                    }
                }
                Some(sep @ (b'.' | b'-')) => {
                    // "X-1" counts as "X1" for the a/b/m shorthands, as Maven reads it.
                    let digit_next = sep == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
                    items.push(item(&v[start..i], after_dash, digit_next));
                    after_dash = sep == b'-';
                    start = i + 1;
                }
                Some(c) => {
                    // ASCII digits only; a multi-byte character never splits here.
                    if i > start && c.is_ascii_digit() != b[i - 1].is_ascii_digit() {
                        items.push(item(&v[start..i], after_dash, c.is_ascii_digit()));
                        after_dash = true;
                        start = i;
                    }
                }
            }
        }
        let mut i = items.len();
        while i > 0 {
            i -= 1;
            let before_qualifier = matches!(items.get(i + 1), None | Some(Item::Qualifier(_)));
            if items[i].is_zero() && before_qualifier {
                items.remove(i);
            }
        }
        items
    }

    pub(super) fn compare(a: &str, b: &str) -> Ordering {
        let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
        let (x, y) = (parse(&a), parse(&b));
        for i in 0..x.len().max(y.len()) {
            let (p, q) = match (x.get(i).copied(), y.get(i).copied()) {
                (Some(p), Some(q)) => (p, q),
                (Some(p), None) => (p, p.padding()),
                (None, Some(q)) => (q.padding(), q),
                (None, None) => break,
            };
            match p.cmp(&q) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        Ordering::Equal
    }
}

/// RubyGems' `Gem::Version`.
mod gem {
    use super::{Num, Ordering};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Segment<'a> {
        Num(Num<'a>),
        Str(&'a str),
    }

    /// `N(.[A-Za-z0-9]+)*(-[A-Za-z0-9-]+(.[A-Za-z0-9-]+)*)?`, or empty (which is "0").
    fn valid(v: &str) -> bool {
        if v.is_empty() {
            return true;
        }
        let (main, pre) = match v.split_once('-') {
            Some((main, pre)) => (main, Some(pre)),
            None => (v, None),
        };
        let mut parts = main.split('.');
        let alnum = |p: &str, dash: bool| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || (dash && c == b'-'))
        };
        parts.next().is_some_and(super::all_digits)
            && parts.all(|p| alnum(p, false))
            && pre.is_none_or(|pre| pre.split('.').all(|p| alnum(p, true)))
    }

    /// Runs of digits and runs of letters; a '-' is read as ".pre." as RubyGems does.
    fn segments(v: &str) -> Vec<Segment<'_>> {
        let b = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'-' {
                out.push(Segment::Str("pre"));
                i += 1;
            } else if b[i].is_ascii_digit() {
                let n = super::digit_run(&b[i..]);
                out.push(Segment::Num(Num::new(&b[i..i + n])));
                i += n;
            } else if b[i].is_ascii_alphabetic() {
                let n = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count();
                out.push(Segment::Str(&v[i..i + n]));
                i += n;
            } else {
                i += 1;
            }
        }
        out
    }

    /// The numeric part (up to the first letters) and the rest, each without trailing zeros.
    fn canonical(segments: Vec<Segment<'_>>) -> Vec<Segment<'_>> {
        let split = segments
            .iter()
            .position(|s| matches!(s, Segment::Str(_)))
            .unwrap_or(segments.len());
        let (numeric, rest) = segments.split_at(split);
        let trim = |s: &[Segment<'_>]| {
            let zero = |seg: &Segment<'_>| matches!(seg, Segment::Num(n) if n.is_zero());
            s.iter().rposition(|seg| !zero(seg)).map_or(0, |p| p + 1)
        };
        let mut out = numeric[..trim(numeric)].to_vec();
        out.extend_from_slice(&rest[..trim(rest)]);
        out
    }

    /// Segment by segment, a missing one being 0; letters (a pre-release) sort before numbers.
    pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
        let (a, b) = (a.trim(), b.trim());
        if !valid(a) || !valid(b) {
            return None;
        }
        let (x, y) = (canonical(segments(a)), canonical(segments(b)));
        let zero = Segment::Num(Num::ZERO);
        for i in 0..x.len().max(y.len()) {
            let (l, r) = (
                x.get(i).copied().unwrap_or(zero),
                y.get(i).copied().unwrap_or(zero),
            );
            let ord = match (l, r) {
                (Segment::Num(l), Segment::Num(r)) => l.cmp(&r),
                (Segment::Str(l), Segment::Str(r)) => l.cmp(r),
                (Segment::Str(_), Segment::Num(_)) => Ordering::Less,
                (Segment::Num(_), Segment::Str(_)) => Ordering::Greater,
            };
            if ord.is_ne() {
                return Some(ord);
            }
        }
        Some(Ordering::Equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    /// Every pair of `chain` (i < j) is strictly increasing, both ways round, and each version
    /// equals itself.
    fn assert_chain(scheme: Scheme, chain: &[&str]) {
        for (i, a) in chain.iter().enumerate() {
            assert_eq!(compare(scheme, a, a), Some(Equal), "{scheme:?}: {a} == {a}");
            for b in &chain[i + 1..] {
                assert_eq!(compare(scheme, a, b), Some(Less), "{scheme:?}: {a} < {b}");
                assert_eq!(
                    compare(scheme, b, a),
                    Some(Greater),
                    "{scheme:?}: {b} > {a}"
                );
            }
        }
    }

    fn assert_equal(scheme: Scheme, pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            assert_eq!(compare(scheme, a, b), Some(Equal), "{scheme:?}: {a} == {b}");
            assert_eq!(compare(scheme, b, a), Some(Equal), "{scheme:?}: {b} == {a}");
        }
    }

    /// `(a, expected, b)`, checked both ways round.
    fn assert_cases(scheme: Scheme, cases: &[(&str, Ordering, &str)]) {
        for &(a, expected, b) in cases {
            assert_eq!(
                compare(scheme, a, b),
                Some(expected),
                "{scheme:?}: {a} {expected:?} {b}"
            );
            assert_eq!(
                compare(scheme, b, a),
                Some(expected.reverse()),
                "{scheme:?}: {b} {:?} {a}",
                expected.reverse()
            );
        }
    }

    fn assert_invalid(scheme: Scheme, garbage: &[&str]) {
        for g in garbage {
            assert_eq!(
                compare(scheme, g, "1.0.0"),
                None,
                "{scheme:?}: {g:?} is not a version"
            );
            assert_eq!(
                compare(scheme, "1.0.0", g),
                None,
                "{scheme:?}: {g:?} is not a version"
            );
        }
    }

    #[test]
    fn ecosystems() {
        let cases = [
            ("Debian", Scheme::Dpkg),
            ("Debian:12", Scheme::Dpkg),
            ("Ubuntu", Scheme::Dpkg),
            ("Ubuntu:22.04:LTS", Scheme::Dpkg),
            ("Ubuntu:Pro:18.04:LTS", Scheme::Dpkg),
            ("Alpine", Scheme::Apk),
            ("Alpine:v3.19", Scheme::Apk),
            ("Wolfi", Scheme::Apk),
            ("Chainguard", Scheme::Apk),
            ("Red Hat", Scheme::Rpm),
            ("Red Hat:enterprise_linux:9::appstream", Scheme::Rpm),
            ("AlmaLinux", Scheme::Rpm),
            ("AlmaLinux:9", Scheme::Rpm),
            ("Rocky Linux", Scheme::Rpm),
            ("Rocky Linux:9", Scheme::Rpm),
            ("openSUSE", Scheme::Rpm),
            ("openSUSE:Tumbleweed", Scheme::Rpm),
            ("SUSE", Scheme::Rpm),
            ("SUSE:Linux Enterprise Server 15 SP5", Scheme::Rpm),
            ("Mageia", Scheme::Rpm),
            ("openEuler", Scheme::Rpm),
            ("openEuler:22.03-LTS", Scheme::Rpm),
            ("PyPI", Scheme::Pep440),
            ("npm", Scheme::Semver),
            ("crates.io", Scheme::Semver),
            ("NuGet", Scheme::Semver),
            ("Hex", Scheme::Semver),
            ("Pub", Scheme::Semver),
            ("Packagist", Scheme::Semver),
            ("Go", Scheme::Go),
            ("Maven", Scheme::Maven),
            ("Maven:https://repo.maven.apache.org/maven2/", Scheme::Maven),
            ("RubyGems", Scheme::Rubygems),
        ];
        for (name, scheme) in cases {
            assert_eq!(Scheme::for_ecosystem(name), Some(scheme), "{name}");
        }
        for unknown in ["", ":", "Debianish", "Hackage", "CRAN", "GIT", "Linux"] {
            assert_eq!(Scheme::for_ecosystem(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn dpkg_policy() {
        // Debian Policy §5.6.12: "~~", "~~a", "~", the empty part, "a" sort in that order.
        assert_chain(Scheme::Dpkg, &["~~", "~~a", "~", "", "a"]);
        assert_chain(
            Scheme::Dpkg,
            &[
                "1.0~~",
                "1.0~~a",
                "1.0~",
                "1.0~rc1",
                "1.0",
                "1.0a",
                "1.0+a",
                "1.0.1",
                "1.0.1-1",
                "1.0.1-1+b1",
                "1.0.1-1.1",
                "1.0.1-2",
                "2.0",
                "1:0.1",
                "1:0.1-1",
                "2:0",
            ],
        );
        // Security and stable updates.
        assert_chain(
            Scheme::Dpkg,
            &["2.36-9+deb12u3", "2.36-9+deb12u4", "2.36-9+deb12u10"],
        );
        assert_chain(
            Scheme::Dpkg,
            &[
                "2.35-0ubuntu3",
                "2.35-0ubuntu3.1",
                "2.35-0ubuntu3.10",
                "2.35-0ubuntu4",
            ],
        );
        assert_cases(
            Scheme::Dpkg,
            &[
                ("1.0~rc1", Less, "1.0"),
                ("1:0.1", Greater, "2.0"),
                ("7.88.1-10+deb12u5", Less, "7.88.1-10+deb12u12"),
                ("1.2.3-1ubuntu0.1", Less, "1.2.3-1ubuntu1"),
                // The revision follows the last hyphen.
                ("1.2-3-4", Less, "1.2-3-5"),
                ("1.2-3-4", Greater, "1.2-4"),
                ("0:0-0", Less, "1:0-0"),
                ("0:a-0", Less, "0:b-0"),
                ("0:0-a", Less, "0:0-b"),
                ("1.0.1", Less, "1.01"),
            ],
        );
        assert_equal(
            Scheme::Dpkg,
            &[
                ("1.0", "1.0-0"),
                ("0:1.0", "1.0"),
                ("00:1.0", "1.0"),
                ("1.01", "1.1"),
                ("1.0", "1.00"),
            ],
        );
    }

    #[test]
    fn rpm_rpmvercmp_suite() {
        // rpm's tests/rpmvercmp.at.
        assert_cases(
            Scheme::Rpm,
            &[
                ("1.0", Equal, "1.0"),
                ("1.0", Less, "2.0"),
                ("2.0.1", Equal, "2.0.1"),
                ("2.0", Less, "2.0.1"),
                ("2.0.1a", Equal, "2.0.1a"),
                ("2.0.1a", Greater, "2.0.1"),
                ("5.5p1", Equal, "5.5p1"),
                ("5.5p1", Less, "5.5p2"),
                ("5.5p10", Equal, "5.5p10"),
                ("5.5p1", Less, "5.5p10"),
                ("10xyz", Less, "10.1xyz"),
                ("xyz10", Equal, "xyz10"),
                ("xyz10", Less, "xyz10.1"),
                ("xyz.4", Equal, "xyz.4"),
                ("xyz.4", Less, "8"),
                ("xyz.4", Less, "2"),
                ("5.5p2", Less, "5.6p1"),
                ("5.6p1", Less, "6.5p1"),
                ("6.0.rc1", Greater, "6.0"),
                ("10b2", Greater, "10a1"),
                ("10a2", Less, "10b2"),
                ("1.0aa", Equal, "1.0aa"),
                ("1.0a", Less, "1.0aa"),
                ("10.0001", Equal, "10.0001"),
                ("10.0001", Equal, "10.1"),
                ("10.0001", Less, "10.0039"),
                ("4.999.9", Less, "5.0"),
                ("20101121", Equal, "20101121"),
                ("20101121", Less, "20101122"),
                ("2_0", Equal, "2_0"),
                ("2.0", Equal, "2_0"),
                ("a", Equal, "a"),
                ("a+", Equal, "a+"),
                ("a+", Equal, "a_"),
                ("+a", Equal, "+a"),
                ("+a", Equal, "_a"),
                ("+_", Equal, "+_"),
                ("_+", Equal, "+_"),
                ("_+", Equal, "_+"),
                ("+", Equal, "_"),
                ("1.0~rc1", Equal, "1.0~rc1"),
                ("1.0~rc1", Less, "1.0"),
                ("1.0~rc1", Less, "1.0~rc2"),
                ("1.0~rc1~git123", Equal, "1.0~rc1~git123"),
                ("1.0~rc1~git123", Less, "1.0~rc1"),
                ("1.0^", Equal, "1.0^"),
                ("1.0^", Greater, "1.0"),
                ("1.0^git1", Equal, "1.0^git1"),
                ("1.0^git1", Greater, "1.0"),
                ("1.0^git1", Less, "1.0^git2"),
                ("1.0^git1", Less, "1.01"),
                ("1.0^20160101", Equal, "1.0^20160101"),
                ("1.0^20160101", Less, "1.0.1"),
                ("1.0^20160101^git1", Equal, "1.0^20160101^git1"),
                ("1.0^20160102", Greater, "1.0^20160101^git1"),
                ("1.0~rc1^git1", Equal, "1.0~rc1^git1"),
                ("1.0~rc1^git1", Greater, "1.0~rc1"),
                ("1.0^git1~pre", Equal, "1.0^git1~pre"),
                ("1.0^git1", Greater, "1.0^git1~pre"),
                // The "oddities" rpm documents (RhBug:811992): alphabetic segments compare
                // bytewise, and an alphabetic segment is older than a numeric one.
                ("1b.fc17", Less, "1.fc17"),
                ("1g.fc17", Greater, "1.fc17"),
                ("1a", Less, "1.0"),
                // Non-ASCII characters only separate.
                ("1.1.α", Equal, "1.1.β"),
            ],
        );
        assert_chain(
            Scheme::Rpm,
            &[
                "1.0~rc1~git123",
                "1.0~rc1",
                "1.0~rc1^git1",
                "1.0~rc2",
                "1.0",
                "1.0^",
                "1.0^git1",
                "1.0^git2",
                "1.0.1",
                "1.1",
                "2.0",
                "1:0.1",
            ],
        );
    }

    #[test]
    fn rpm_epoch_version_release() {
        assert_cases(
            Scheme::Rpm,
            &[
                ("1:1.0-1", Greater, "2.0-1"),
                ("0:1.0-1.el9", Equal, "1.0-1.el9"),
                ("1.0-1.el9", Less, "1.0-1.el9_2"),
                ("3.0.7-16.el9_2", Less, "3.0.7-17.el9"),
                ("3.0.7-16.el9_2", Greater, "3.0.7-16.el9"),
                ("2.28-225.el9", Less, "2.28-225.el9_3.1"),
                ("1.0", Less, "1.0-1"),
                ("5.3.28-53.el9", Less, "1:5.3.28-53.el9"),
            ],
        );
    }

    #[test]
    fn apk_versions() {
        assert_chain(
            Scheme::Apk,
            &[
                "1.2.3_alpha",
                "1.2.3_alpha1",
                "1.2.3_beta",
                "1.2.3_pre2",
                "1.2.3_rc1",
                "1.2.3",
                "1.2.3-r1",
                "1.2.3-r10",
                "1.2.3_cvs",
                "1.2.3_svn",
                "1.2.3_git",
                "1.2.3_hg",
                "1.2.3_p1",
                "1.2.3_p1-r1",
                "1.2.3a",
                "1.2.3b",
                "1.2.4",
                "1.2.10",
                "1.10",
            ],
        );
        // From apk-tools' test/version.data.
        assert_cases(
            Scheme::Apk,
            &[
                ("1.2a", Greater, "1.2"),
                ("2.34", Greater, "0.1.0_alpha"),
                ("23_foo", Greater, "4_beta"),
                ("1.0", Less, "1.0bc"),
                ("0.1.0_alpha", Equal, "0.1.0_alpha"),
                ("0.1.0_alpha2", Greater, "0.1.0_alpha"),
                ("1.1", Greater, "1.1_alpha1"),
                ("1.2.1", Greater, "1.2"),
                ("2.3.0b-r1", Less, "2.3.0b-r2"),
                ("0.12.3", Greater, "0.12"),
                ("1.2.12.1", Less, "1.2.13"),
                ("3.1_p16", Less, "3.1_p17"),
                ("1.06-r6", Less, "006"),
                ("006", Greater, "1.0.0"),
                ("1.2.2-r1", Greater, "1.2.2"),
                ("3.9.8-r5", Greater, "2.01.01_alpha10"),
                ("2.01.01_alpha10", Greater, "0.94"),
                ("1.0", Greater, "0.99.3.20040818"),
                ("1.39", Greater, "1.00_beta2"),
                ("1.02.07", Less, "1.02.10-r1"),
                ("20060720", Greater, "3.0.20060720"),
                ("2.5.1-r8", Less, "2.5.1a-r1"),
                ("1.3.5-r10", Greater, "1.3.5-r8"),
                ("3.0.0-r2", Less, "021109-r3"),
                ("3.9_pre20060124", Greater, "0.01"),
                ("0.10.0-r1", Greater, "0.10.0"),
                ("0.10.0", Less, "0.10.1_rc1"),
                ("22.7-r1", Less, "22.7.3-r1"),
                ("2.1_pre20", Less, "2.1_pre26"),
                ("2.10.1", Greater, "02.08.01b"),
                ("1.2.07.8", Less, "1.2.12.04"),
                ("1.07-r1", Less, "1.07.5"),
                ("4.01", Less, "4.20"),
                ("4.20", Greater, "0.20070118"),
                ("0.20070118", Less, "0.20070207_rc1"),
                ("4.5_p1-r1", Greater, "4.5_p1"),
                ("0.9.8c-r1", Less, "0.9.8d"),
                ("1.7", Less, "1.7b"),
                ("1.8.5", Less, "1.8.5_p2"),
                ("1.6.8_p12-r1", Greater, "1.6.8_p9-r2"),
                ("0.9.28-r2", Less, "0.9.28.1"),
                ("0.9.28.1", Less, "087-r1"),
                ("1.2.5_rc2", Greater, "0.1"),
                ("2.12r-r4", Less, "2.12r-r5"),
                ("7.0.17", Less, "7.0.174"),
                ("1.3-r0", Less, "1.3.1-r0"),
                ("1.3_pre1-r1", Less, "1.3.2"),
                ("1.0_p10-r0", Greater, "1.0_p9-r0"),
                ("0.1.0_alpha_pre2", Less, "0.1.0_alpha"),
                (
                    "1.0.0_pre20191002222144-r0",
                    Less,
                    "1.0.0_pre20210530193627-r0",
                ),
            ],
        );
    }

    #[test]
    fn semver_precedence() {
        // semver.org §11.
        assert_chain(
            Scheme::Semver,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "2.0.0",
                "2.1.0",
                "2.1.1",
            ],
        );
        assert_equal(
            Scheme::Semver,
            &[
                ("1.0.0+build.1", "1.0.0"),
                ("1.0.0-rc.1+a", "1.0.0-rc.1+b.2"),
                ("v1.2.3", "1.2.3"),
                ("1.2", "1.2.0"),
                ("1", "1.0.0"),
                ("1.2.3.0", "1.2.3"),
                ("01.2.3", "1.2.3"),
            ],
        );
        assert_cases(
            Scheme::Semver,
            &[
                (
                    "1.0.0-alpha.99999999999999999999",
                    Less,
                    "1.0.0-alpha.100000000000000000000",
                ),
                ("1.0.0-x-y-z.1", Greater, "1.0.0-x-y-z"),
                ("1.0.0-1", Less, "1.0.0-a"),
                ("1.0.0-B", Less, "1.0.0-a"),
                ("4.3.0.1", Greater, "4.3.0"),
                ("1.2", Less, "1.2.1"),
            ],
        );
        assert_invalid(
            Scheme::Semver,
            &[
                "",
                "latest",
                "1.0.0-",
                "1.0.0-a..b",
                "1..0",
                "1.0.0+",
                "1.x",
                "=1.0.0",
                "1.0 beta",
                "v",
            ],
        );
    }

    #[test]
    fn go_versions() {
        assert_chain(
            Scheme::Go,
            &[
                "v0.0.0-20190101000000-abcdef123456",
                "v0.0.0-20210101000000-abcdef123456",
                "v0.0.1",
                "v1.2.3-pre",
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4-pre.0.20191109021931-daa7c04131f5",
                "v1.2.4",
                "v2.0.0+incompatible",
                "v2.0.1",
            ],
        );
        assert_equal(
            Scheme::Go,
            &[
                ("v2.0.0+incompatible", "v2.0.0"),
                ("1.2.3", "v1.2.3"),
                ("v1.2", "v1.2.0"),
            ],
        );
        assert_cases(
            Scheme::Go,
            &[
                ("v0.0.0-20210101000000-abcdef123456", Less, "v0.0.1"),
                ("v1.2.3-pre", Less, "v1.2.3"),
            ],
        );
        assert_invalid(
            Scheme::Go,
            &["v1.2.3.4", "", "v", "latest", "master", "v1.2.3-", "1.2.x"],
        );
    }

    #[test]
    fn pep440_spec_order() {
        // PEP 440's example of a correctly ordered list (summary of permitted suffixes).
        assert_chain(
            Scheme::Pep440,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
        assert_chain(
            Scheme::Pep440,
            &["2.0", "2.0.1", "10.0", "1!0.1", "1!1.0", "2!0.0.1"],
        );
    }

    #[test]
    fn pep440_normalization() {
        assert_equal(
            Scheme::Pep440,
            &[
                ("1.0", "1.0.0"),
                ("1.0", "1"),
                ("1.0", "v1.0"),
                ("1.0", "V1.0"),
                ("1.0", "0!1.0"),
                ("1.0", " 1.0\n"),
                ("1.0a1", "1.0.alpha.1"),
                ("1.0a1", "1.0-ALPHA-1"),
                ("1.0a1", "1.0_a_1"),
                ("1.0a1", "1.0A1"),
                ("1.0a", "1.0a0"),
                ("1.0b2", "1.0beta2"),
                ("1.0b2", "1.0-b.2"),
                ("1.0rc1", "1.0c1"),
                ("1.0rc1", "1.0pre1"),
                ("1.0rc1", "1.0preview1"),
                ("1.0rc1", "1.0-RC-1"),
                ("1.0.post1", "1.0-1"),
                ("1.0.post1", "1.0post1"),
                ("1.0.post1", "1.0.r1"),
                ("1.0.post1", "1.0rev1"),
                ("1.0.post1", "1.0-post-1"),
                ("1.0.post0", "1.0.post"),
                ("1.0.dev0", "1.0.dev"),
                ("1.0.dev1", "1.0-dev1"),
                ("1.0.dev1", "1.0_dev_1"),
                ("1.0+ubuntu.1", "1.0+ubuntu-1"),
                ("1.0+ubuntu.1", "1.0+ubuntu_1"),
                ("1.0+ubuntu.1", "1.0+Ubuntu.1"),
                ("1.0+ubuntu.01", "1.0+ubuntu.1"),
                ("1.0a1-1", "1.0a1.post1"),
                ("1.0rc1.post2.dev3", "1.0RC1-2.DEV3"),
                ("1.0.00001", "1.0.1"),
            ],
        );
        assert_cases(
            Scheme::Pep440,
            &[
                ("1!0.1", Greater, "2.0"),
                ("1.0.dev1", Less, "1.0a0"),
                ("1.0a1", Less, "1.0a1.post1"),
                ("1.0+1", Greater, "1.0+abc"),
                ("1.0+abc", Less, "1.0+abc.0"),
                ("1.0+zzz", Less, "1.0+0"),
                ("1.0.post1", Less, "1.0.1"),
                ("1.0", Less, "1.0.post0.dev0"),
                ("1.0.post0.dev0", Less, "1.0.post0"),
                ("2.0", Less, "10.0"),
                (
                    "1.0.99999999999999999999999",
                    Less,
                    "1.0.100000000000000000000000",
                ),
            ],
        );
        assert_invalid(
            Scheme::Pep440,
            &[
                "", "foo", "1.0.", "1..0", "1.0-", "1.0+", "1.0+a..b", "1.0+a!", "!1.0",
                "1.0 beta", "x1.0",
            ],
        );
    }

    #[test]
    fn maven_comparable_version_test() {
        // maven-artifact's ComparableVersionTest (Maven 3.9 and later).
        assert_chain(
            Scheme::Maven,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
        assert_chain(
            Scheme::Maven,
            &[
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
        assert_equal(
            Scheme::Maven,
            &[
                ("1", "1"),
                ("1", "1.0"),
                ("1", "1.0.0"),
                ("1.0", "1.0.0"),
                ("1", "1-0"),
                ("1", "1.0-0"),
                ("1.0", "1.0-0"),
                ("1a", "1-a"),
                ("1a", "1.0-a"),
                ("1a", "1.0.0-a"),
                ("1.0a", "1-a"),
                ("1.0.0a", "1-a"),
                ("1x", "1-x"),
                ("1x", "1.0-x"),
                ("1x", "1.0.0-x"),
                ("1.0x", "1-x"),
                ("1.0.0x", "1-x"),
                ("1cr", "1rc"),
                ("1a1", "1-alpha-1"),
                ("1b2", "1-beta-2"),
                ("1m3", "1-milestone-3"),
                ("1X", "1x"),
                ("1A", "1a"),
                ("1B", "1b"),
                ("1M", "1m"),
                ("1Cr", "1Rc"),
                ("1cR", "1rC"),
                ("1m3", "1Milestone3"),
                ("1m3", "1MileStone3"),
                ("1m3", "1MILESTONE3"),
                // Same order, though Maven does not call them equal.
                ("1ga", "1"),
                ("1release", "1"),
                ("1final", "1"),
                ("1Ga", "1"),
                ("1GA", "1"),
                ("1RELEASE", "1"),
                ("1RELeaSE", "1"),
                ("1Final", "1"),
                ("1FinaL", "1"),
                ("1FINAL", "1"),
                ("1.0.0-alpha1", "1.0.0-ALPHA1"),
                ("1.a", "1.A"),
                ("1.é", "1.É"),
                (
                    "1-abcdefghijklmnopqrstuvwxyz",
                    "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                ),
                ("0000000000000000001", "1"),
                ("000000001", "01"),
                ("0000000000000000000", "0"),
                ("00", "0"),
            ],
        );
        assert_cases(
            Scheme::Maven,
            &[
                ("1", Less, "2"),
                ("1.5", Less, "2"),
                ("1", Less, "2.5"),
                ("1.0", Less, "1.1"),
                ("1.1", Less, "1.2"),
                ("1.0.0", Less, "1.1"),
                ("1.0.1", Less, "1.1"),
                ("1.1", Less, "1.2.0"),
                ("1.0-alpha-1", Less, "1.0"),
                ("1.0-alpha-1", Less, "1.0-alpha-2"),
                ("1.0-alpha-1", Less, "1.0-beta-1"),
                ("1.0-beta-1", Less, "1.0-SNAPSHOT"),
                ("1.0-SNAPSHOT", Less, "1.0"),
                ("1.0-alpha-1-SNAPSHOT", Less, "1.0-alpha-1"),
                ("1.0", Less, "1.0-1"),
                ("1.0-1", Less, "1.0-2"),
                ("1.0.0", Less, "1.0-1"),
                ("2.0-1", Less, "2.0.1"),
                ("2.0.1-klm", Less, "2.0.1-lmn"),
                ("2.0.1", Less, "2.0.1-xyz"),
                ("2.0.1", Less, "2.0.1-123"),
                ("2.0.1-xyz", Less, "2.0.1-123"),
                // Leading zeroes.
                ("0.7", Less, "2"),
                ("0.2", Less, "1.0.7"),
                // Digits above letters and anything non-ASCII.
                ("1", Greater, "é"),
                ("1", Greater, "\u{1D7E4}"),
                ("7", Greater, "J"),
                ("7", Greater, "c"),
                ("1", Greater, "\u{0668}"),
                ("9", Greater, "\u{0668}"),
                ("aardvark", Less, "zebra"),
                ("zebra", Less, "ζέβρα"),
                // MNG-5568.
                ("6.1.0rc3", Less, "6.1.0"),
                ("6.1.0rc3", Less, "6.1H.5-beta"),
                ("6.1.0", Less, "6.1H.5-beta"),
                // MNG-6572.
                ("20190126.230843", Less, "1234567890.12345"),
                ("1234567890.12345", Less, "123456789012345.1H.5-beta"),
                (
                    "123456789012345.1H.5-beta",
                    Less,
                    "12345678901234567890.1H.5-beta",
                ),
                // MNG-6964.
                ("1-0.alpha", Less, "1"),
                ("1-0.beta", Less, "1"),
                ("1-0.alpha", Less, "1-0.beta"),
                // MNG-7714.
                ("1.0.final-redhat", Less, "1.0-sp1-redhat"),
                ("1.0.final-redhat", Less, "1.0-sp-1-redhat"),
                ("1.0.final-redhat", Less, "1.0-sp.1-redhat"),
                // The POM reference's examples.
                ("1", Less, "1.1"),
                ("1-snapshot", Less, "1"),
                ("1", Less, "1-sp"),
                ("1-foo2", Less, "1-foo10"),
                ("1.foo", Equal, "1-foo"),
                ("1-foo", Less, "1-1"),
                ("1-1", Less, "1.1"),
                ("1-sp", Greater, "1-ga"),
                ("1-sp.1", Greater, "1-ga.1"),
                ("1-a1", Equal, "1-alpha-1"),
                // Common real-world spellings.
                ("5.3.20.RELEASE", Less, "5.3.21"),
                ("2.12.7", Less, "2.12.7.1"),
                ("1.0.0-M1", Less, "1.0.0-RC1"),
                ("31.1-jre", Less, "32.0.0-android"),
                ("32.0.0-android", Less, "32.0.0-jre"),
                ("9.4.51.v20230217", Less, "9.4.52.v20230823"),
            ],
        );
        // MNG-7644: 1.0.0.X1 < 1.0.0-X2, and 2-X == 2.0.X == 2.0.0.X, for any X.
        for x in [
            "abc",
            "alpha",
            "a",
            "beta",
            "b",
            "def",
            "milestone",
            "m",
            "RC",
        ] {
            let (x1, x2) = (format!("1.0.0.{x}1"), format!("1.0.0-{x}2"));
            assert_cases(Scheme::Maven, &[(x1.as_str(), Less, x2.as_str())]);
            let (a, b, c) = (format!("2-{x}"), format!("2.0.{x}"), format!("2.0.0.{x}"));
            assert_equal(
                Scheme::Maven,
                &[(&a, &b), (&a, &c), (&b, &c)].map(|(p, q)| (p.as_str(), q.as_str())),
            );
        }
    }

    #[test]
    fn rubygems_versions() {
        // RubyGems' test_gem_version.rb (spaceship).
        assert_cases(
            Scheme::Rubygems,
            &[
                ("1.0", Equal, "1.0.0"),
                ("1.0", Greater, "1.0.a"),
                ("1.8.2", Greater, "0.0.0"),
                ("1.8.2", Greater, "1.8.2.a"),
                ("1.8.2.b", Greater, "1.8.2.a"),
                ("1.8.2.a", Less, "1.8.2"),
                ("1.8.2.a10", Greater, "1.8.2.a9"),
                ("", Equal, "0"),
                ("0.beta.1", Equal, "0.0.beta.1"),
                ("0.0.beta", Less, "0.0.beta.1"),
                ("0.0.beta", Less, "0.beta.1"),
                ("5.a", Less, "5.0.0.rc2"),
                ("5.x", Greater, "5.0.0.rc2"),
                ("1.9.3", Equal, "1.9.3"),
                ("1.9.3", Greater, "1.9.2.99"),
                ("1.9.3", Less, "1.9.3.1"),
            ],
        );
        assert_chain(
            Scheme::Rubygems,
            &[
                "1.0.0.a",
                "1.0.0.a1",
                "1.0.0.b",
                "1.0.0.rc1",
                "1.0.0",
                "1.0.1",
                "1.1",
                "10.0",
            ],
        );
        assert_equal(
            Scheme::Rubygems,
            &[
                ("1.0.0.a.0", "1.0.0.a"),
                ("1.0-rc1", "1.0.pre.rc1"),
                (" 1.2 ", "1.2"),
            ],
        );
        assert_invalid(
            Scheme::Rubygems,
            &["junk", "1.0-", "1..0", "-1", "1.0 beta", "v1.0", "1.0."],
        );
    }

    #[test]
    fn huge_numbers_compare_by_value() {
        let big = format!("1{}", "0".repeat(40));
        let bigger = format!("1{}1", "0".repeat(39));
        let leading = format!("000{big}");
        for scheme in [
            Scheme::Dpkg,
            Scheme::Apk,
            Scheme::Rpm,
            Scheme::Semver,
            Scheme::Pep440,
            Scheme::Maven,
            Scheme::Go,
            Scheme::Rubygems,
        ] {
            assert_eq!(compare(scheme, &big, &bigger), Some(Less), "{scheme:?}");
            assert_eq!(compare(scheme, &bigger, &big), Some(Greater), "{scheme:?}");
            assert_eq!(compare(scheme, "2", &big), Some(Less), "{scheme:?}");
            assert_eq!(compare(scheme, &big, &big), Some(Equal), "{scheme:?}");
            assert_eq!(compare(scheme, &leading, &big), Some(Equal), "{scheme:?}");
        }
    }

    #[test]
    fn strange_inputs_never_panic() {
        let long = format!("1{}", "0".repeat(40));
        let longer = format!("{long}.{long}-{long}~{long}_{long}+{long}");
        let nines = "9".repeat(400);
        let inputs = [
            "",
            " ",
            "::",
            ":",
            "-",
            "--",
            "~",
            "~~",
            "^",
            "_",
            "+",
            ".",
            "..",
            "!",
            "v",
            "V",
            "0",
            "00",
            "1:",
            ":1",
            "1-",
            "-1",
            "1..2",
            "1.",
            "1_",
            "1_foo",
            "1-r",
            "1-r1-r2",
            "1.0-r1_p2",
            "1~^",
            "1^~",
            "a",
            "1a",
            "_rc",
            "+local",
            "1.0+",
            "1!",
            "1!1!1",
            "é",
            "1.é",
            "ζέβρα",
            "\u{1D7E4}",
            "\0",
            "1\u{0}1",
            "1.0.0-",
            "v1.2.3-pre+build",
            "1.0a-1",
            "1.0.post-1.dev-1",
            "1-0.1",
            "1-ga-1",
            "1-sp-1",
            "2.0.0+incompatible",
            long.as_str(),
            longer.as_str(),
            nines.as_str(),
        ];
        let schemes = [
            Scheme::Dpkg,
            Scheme::Apk,
            Scheme::Rpm,
            Scheme::Semver,
            Scheme::Pep440,
            Scheme::Maven,
            Scheme::Go,
            Scheme::Rubygems,
        ];
        for scheme in schemes {
            let lenient = matches!(
                scheme,
                Scheme::Dpkg | Scheme::Apk | Scheme::Rpm | Scheme::Maven
            );
            for a in &inputs {
                let same = compare(scheme, a, a);
                assert!(
                    same.is_none_or(|o| o.is_eq()),
                    "{scheme:?}: {a:?} vs itself: {same:?}"
                );
                for b in &inputs {
                    let ab = compare(scheme, a, b);
                    let ba = compare(scheme, b, a);
                    if lenient {
                        assert!(ab.is_some(), "{scheme:?}: {a:?} vs {b:?}");
                    }
                    assert_eq!(ab, ba.map(Ordering::reverse), "{scheme:?}: {a:?} vs {b:?}");
                }
            }
        }
    }
}
