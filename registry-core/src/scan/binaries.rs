//! Packages compiled into executables, read from ELF files:
//!
//! - Go: the build information the linker writes after the `\xff Go buildinf:` magic (the
//!   `.go.buildinfo` section): the toolchain version (the package `stdlib`, version `go1.x.y`),
//!   the main module and every `dep` line of the module information, a `=>` replacement taking
//!   the place of the dependency it follows. Both layouts are read: Go ≥ 1.18 stores the two
//!   strings inline (varint length, bytes); Go 1.13–1.17 stores pointers to Go string headers,
//!   resolved through the program headers' `PT_LOAD` segments.
//! - Rust: cargo-auditable's `.dep-v0` section, zlib-compressed JSON
//!   `{"packages": [{"name", "version", "source", …}]}`; the packages whose source is
//!   `crates.io` are listed.
//!
//! An executable arrives as a tar entry that can be read once, front to back. A small one is read
//! into memory; a larger one is copied to an anonymous temporary file (the magic is looked for
//! on the way), then its headers and the few sections that matter are read from there, so no
//! more than 8 MiB, a 64 KiB buffer and the extracted sections are in memory, whatever the
//! binary's size. Every offset and size the file states
//! is checked against the file and against a bound before anything is read or allocated.

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::packages::Package;

/// Executables larger than this are not inspected (a statically linked Go or Rust program is
/// rarely above 100 MiB; bigger ELF files are mostly GPU and ML libraries, without either).
pub const MAX_BINARY: u64 = 256 << 20;
/// The ELF magic.
pub const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const GO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Largest section header table or program header table read.
const MAX_TABLE: u64 = 4 << 20;
/// Largest section name table read.
const MAX_NAMES: u64 = 1 << 20;
/// Largest `.dep-v0` section read, and the most its JSON may inflate to.
const MAX_DEP_SECTION: u64 = 8 << 20;
const MAX_DEP_JSON: u64 = 32 << 20;
/// Largest Go build-information string (the module list) read.
const MAX_GO_STRING: u64 = 4 << 20;

/// One section: its name and where its bytes are in the file.
#[derive(Debug)]
struct Section {
    name: String,
    kind: u32,
    offset: u64,
    size: u64,
}

/// One `PT_LOAD` segment: virtual address range backed by file bytes.
#[derive(Debug)]
struct Segment {
    vaddr: u64,
    offset: u64,
    filesz: u64,
}

/// The parts of an ELF file read here.
#[derive(Debug)]
struct Elf {
    big: bool,
    sections: Vec<Section>,
    segments: Vec<Segment>,
}

/// Integers of either byte order from a slice; `None` past its end.
fn uint(b: &[u8], at: usize, width: usize, big: bool) -> Option<u64> {
    let s = b.get(at..at.checked_add(width)?)?;
    let mut v = 0u64;
    if big {
        for &x in s {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in s.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

/// `n` bytes at `offset` of a file `len` bytes long; `None` when that is outside the file or
/// above `max`.
fn read_at<F: Read + Seek>(f: &mut F, len: u64, offset: u64, n: u64, max: u64) -> Option<Vec<u8>> {
    if n > max || offset.checked_add(n)? > len {
        return None;
    }
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = vec![0; usize::try_from(n).ok()?];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn parse_elf<F: Read + Seek>(f: &mut F, len: u64) -> Option<Elf> {
    let h = read_at(f, len, 0, 64.min(len), 64)?;
    if h.get(..4)? != ELF_MAGIC {
        return None;
    }
    let is64 = match h.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match h.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let w = if is64 { 8 } else { 4 };
    let (phoff, shoff, tail) = if is64 {
        (uint(&h, 0x20, 8, big)?, uint(&h, 0x28, 8, big)?, 0x36)
    } else {
        (uint(&h, 0x1c, 4, big)?, uint(&h, 0x20, 4, big)?, 0x2a)
    };
    let phentsize = uint(&h, tail, 2, big)?;
    let phnum = uint(&h, tail + 2, 2, big)?;
    let shentsize = uint(&h, tail + 4, 2, big)?;
    let shnum = uint(&h, tail + 6, 2, big)?;
    let shstrndx = uint(&h, tail + 8, 2, big)?;

    let mut segments = Vec::new();
    if phnum > 0
        && phentsize >= if is64 { 56 } else { 32 }
        && let Some(table) = read_at(f, len, phoff, phnum * phentsize, MAX_TABLE)
    {
        for e in table.chunks_exact(usize::try_from(phentsize).ok()?) {
            const PT_LOAD: u64 = 1;
            if uint(e, 0, 4, big)? != PT_LOAD {
                continue;
            }
            let (offset, vaddr, filesz) = if is64 {
                (
                    uint(e, 8, 8, big)?,
                    uint(e, 16, 8, big)?,
                    uint(e, 32, 8, big)?,
                )
            } else {
                (
                    uint(e, 4, 4, big)?,
                    uint(e, 8, 4, big)?,
                    uint(e, 16, 4, big)?,
                )
            };
            segments.push(Segment {
                vaddr,
                offset,
                filesz,
            });
        }
    }

    let mut sections = Vec::new();
    if shnum > 0 && shentsize >= if is64 { 64 } else { 40 } && shstrndx < shnum {
        let table = read_at(f, len, shoff, shnum * shentsize, MAX_TABLE)?;
        let entries: Vec<&[u8]> = table
            .chunks_exact(usize::try_from(shentsize).ok()?)
            .collect();
        // (name offset, type, file offset, size) of each entry.
        let field = |e: &[u8]| -> Option<(u64, u32, u64, u64)> {
            let name = uint(e, 0, 4, big)?;
            let kind = u32::try_from(uint(e, 4, 4, big)?).ok()?;
            let (offset, size) = if is64 {
                (uint(e, 0x18, w, big)?, uint(e, 0x20, w, big)?)
            } else {
                (uint(e, 0x10, w, big)?, uint(e, 0x14, w, big)?)
            };
            Some((name, kind, offset, size))
        };
        let (_, _, names_off, names_size) = field(entries.get(usize::try_from(shstrndx).ok()?)?)?;
        let names = read_at(f, len, names_off, names_size, MAX_NAMES)?;
        for e in entries {
            let Some((name, kind, offset, size)) = field(e) else {
                continue;
            };
            let name = usize::try_from(name)
                .ok()
                .and_then(|n| names.get(n..))
                .map(|s| {
                    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                    String::from_utf8_lossy(&s[..end]).into_owned()
                })
                .unwrap_or_default();
            sections.push(Section {
                name,
                kind,
                offset,
                size,
            });
        }
    }
    Some(Elf {
        big,
        sections,
        segments,
    })
}

impl Elf {
    /// A section with file bytes (not `SHT_NOBITS`) by name.
    fn section(&self, name: &str) -> Option<&Section> {
        const SHT_NOBITS: u32 = 8;
        self.sections
            .iter()
            .find(|s| s.name == name && s.kind != SHT_NOBITS)
    }

    /// The file offset of virtual address `addr` with at least `n` bytes after it in its
    /// segment.
    fn file_offset(&self, addr: u64, n: u64) -> Option<u64> {
        self.segments.iter().find_map(|s| {
            let rel = addr.checked_sub(s.vaddr)?;
            (rel.checked_add(n)? <= s.filesz).then(|| s.offset.checked_add(rel))?
        })
    }
}

/// An unsigned LEB128 varint at the start of `b`: (value, bytes used).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &x) in b.iter().enumerate().take(10) {
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The Go toolchain version and module information of the build information at `at`.
fn go_buildinfo<F: Read + Seek>(
    f: &mut F,
    len: u64,
    elf: &Elf,
    at: u64,
) -> Option<(String, String)> {
    let h = read_at(f, len, at, 32, 32)?;
    if h.get(..14)? != GO_MAGIC {
        return None;
    }
    let ptr_size = u64::from(*h.get(14)?);
    let flags = *h.get(15)?;
    let (version, modinfo) = if flags & 2 != 0 {
        // Go 1.18+: two varint-prefixed strings right after the 32-byte header.
        let mut pos = at + 32;
        let mut strings = Vec::new();
        for _ in 0..2 {
            let head = read_at(f, len, pos, 10.min(len.saturating_sub(pos)), 10)?;
            let (n, used) = varint(&head)?;
            pos += used as u64;
            strings.push(read_at(f, len, pos, n, MAX_GO_STRING)?);
            pos += n;
        }
        let modinfo = strings.pop()?;
        (strings.pop()?, modinfo)
    } else {
        // Go 1.13-1.17: pointers to Go string headers (data pointer, length).
        if ptr_size != 4 && ptr_size != 8 {
            return None;
        }
        let big = flags & 1 != 0 || elf.big;
        let w = ptr_size as usize;
        let mut read_string = |slot: usize| -> Option<Vec<u8>> {
            let header_addr = uint(&h, 16 + slot * w, w, big)?;
            let header_at = elf.file_offset(header_addr, 2 * ptr_size)?;
            let header = read_at(f, len, header_at, 2 * ptr_size, 16)?;
            let data = uint(&header, 0, w, big)?;
            let n = uint(&header, w, w, big)?;
            if n == 0 {
                return Some(Vec::new());
            }
            let data_at = elf.file_offset(data, n)?;
            read_at(f, len, data_at, n, MAX_GO_STRING)
        };
        (read_string(0)?, read_string(1)?)
    };
    let version = String::from_utf8_lossy(&version).into_owned();
    // The module information sits between two 16-byte sentinels.
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        String::from_utf8_lossy(&modinfo[16..modinfo.len() - 16]).into_owned()
    } else {
        String::new()
    };
    Some((version, modinfo))
}

fn package(ecosystem: &'static str, name: &str, version: &str) -> Package {
    Package {
        ecosystem,
        name: name.to_owned(),
        version: version.to_owned(),
        source: None,
        arch: None,
    }
}

/// The Go packages of build information: `stdlib` at the toolchain version, the main module,
/// every dependency (a `=>` line replaces the dependency before it: a module replacement by its
/// path and version, a directory replacement keeps the path with version `(devel)`).
pub fn go_packages(version: &str, modinfo: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut last_dep: Option<usize> = None;
    for line in modinfo.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["mod", path, v, ..] if !path.is_empty() => {
                out.push(package("golang", path, v));
                last_dep = None;
            }
            ["dep", path, v, ..] if !path.is_empty() => {
                out.push(package("golang", path, v));
                last_dep = Some(out.len() - 1);
            }
            ["=>", path, rest @ ..] if !path.is_empty() => {
                if let Some(i) = last_dep.take() {
                    match rest.first().filter(|v| !v.is_empty()) {
                        Some(v) => out[i] = package("golang", path, v),
                        None => out[i].version = "(devel)".to_owned(),
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(v) = version
        .split_whitespace()
        .next()
        .filter(|v| v.starts_with("go"))
    {
        out.push(package("golang", "stdlib", v));
    }
    out
}

#[derive(serde::Deserialize)]
struct Auditable {
    packages: Vec<AuditablePackage>,
}

#[derive(serde::Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
}

/// The crates.io packages of a `.dep-v0` section (zlib-compressed JSON).
pub fn auditable_packages(section: &[u8]) -> Option<Vec<Package>> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_DEP_JSON + 1)
        .read_to_end(&mut json)
        .ok()?;
    if json.len() as u64 > MAX_DEP_JSON {
        return None;
    }
    let deps: Auditable = serde_json::from_slice(&json).ok()?;
    Some(
        deps.packages
            .iter()
            .filter(|p| p.source == "crates.io")
            .map(|p| package("cargo", &p.name, &p.version))
            .collect(),
    )
}

/// Executables up to this size are read into memory; larger ones into a temporary file.
const IN_MEMORY: u64 = 8 << 20;

/// The packages of an ELF executable read from `r` (`size` bytes, [`ELF_MAGIC`] first). Up to
/// [`IN_MEMORY`] bytes it is read into memory, above that into an anonymous temporary file (in
/// `TMPDIR`, removed when closed), so a large binary never sits in memory. An error is one of
/// reading `r` or the temporary file; a file that is not an ELF file, or one that holds neither
/// Go build information nor a `.dep-v0` section, gives none.
pub fn inspect(r: &mut dyn Read, size: u64) -> io::Result<Vec<Package>> {
    if size > MAX_BINARY {
        return Ok(Vec::new());
    }
    if size <= IN_MEMORY {
        let mut data = Vec::with_capacity(size as usize);
        let (len, magic_at) = copy(r, &mut data)?;
        Ok(extract(&mut io::Cursor::new(data), len, magic_at))
    } else {
        let mut f = tempfile::tempfile()?;
        let (len, magic_at) = copy(r, &mut f)?;
        Ok(extract(&mut f, len, magic_at))
    }
}

/// Copy at most [`MAX_BINARY`] bytes of `r` to `w`, looking for the Go magic on the way (at a
/// 16-byte aligned offset, where the linker places it): (bytes copied, the magic's offset).
fn copy(r: &mut dyn Read, w: &mut impl Write) -> io::Result<(u64, Option<u64>)> {
    let mut buf = vec![0u8; 64 * 1024];
    // The last bytes of the previous chunk, to find a magic across two chunks.
    let mut hay: Vec<u8> = Vec::with_capacity(buf.len() + GO_MAGIC.len());
    let mut pos = 0u64;
    let mut magic_at = None;
    let mut r = r.take(MAX_BINARY);
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((pos, magic_at));
        }
        w.write_all(&buf[..n])?;
        if magic_at.is_none() {
            let start = pos - hay.len() as u64;
            hay.extend_from_slice(&buf[..n]);
            let first = ((16 - start % 16) % 16) as usize;
            magic_at = (first..hay.len().saturating_sub(GO_MAGIC.len() - 1))
                .step_by(16)
                .find(|&i| hay[i..i + GO_MAGIC.len()] == GO_MAGIC[..])
                .map(|i| start + i as u64);
            let keep = hay.len().min(GO_MAGIC.len() - 1);
            hay.drain(..hay.len() - keep);
        }
        pos += n as u64;
    }
}

/// The packages of the ELF file `f` (`len` bytes; the Go magic at `magic_at`, if seen).
fn extract<F: Read + Seek>(f: &mut F, len: u64, magic_at: Option<u64>) -> Vec<Package> {
    let Some(elf) = parse_elf(f, len) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let at = elf.section(".go.buildinfo").map(|s| s.offset).or(magic_at);
    if let Some((version, modinfo)) = at.and_then(|at| go_buildinfo(f, len, &elf, at)) {
        out.extend(go_packages(&version, &modinfo));
    }
    if let Some(s) = elf.section(".dep-v0")
        && let Some(data) = read_at(f, len, s.offset, s.size, MAX_DEP_SECTION)
    {
        out.extend(auditable_packages(&data).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian ELF64 file: the header, the given sections (name, bytes) after it, a
    /// section name table and the section header table at the end.
    fn elf(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(ELF_MAGIC);
        out[4] = 2;
        out[5] = 1;
        out[6] = 1;
        let mut names = vec![0u8];
        let mut entries = vec![(0u32, 0u32, 0u64, 0u64)];
        for (name, data) in sections {
            while !out.len().is_multiple_of(16) {
                out.push(0);
            }
            entries.push((names.len() as u32, 1, out.len() as u64, data.len() as u64));
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            out.extend_from_slice(data);
        }
        entries.push((names.len() as u32, 3, out.len() as u64, 0));
        names.extend_from_slice(b".shstrtab\0");
        let last = entries.len() - 1;
        entries[last].3 = names.len() as u64;
        out.extend_from_slice(&names);
        let shoff = out.len() as u64;
        for (name, kind, offset, size) in &entries {
            let mut e = [0u8; 64];
            e[0..4].copy_from_slice(&name.to_le_bytes());
            e[4..8].copy_from_slice(&kind.to_le_bytes());
            e[0x18..0x20].copy_from_slice(&offset.to_le_bytes());
            e[0x20..0x28].copy_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&e);
        }
        out[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        out[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        out[0x3c..0x3e].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        out[0x3e..0x40].copy_from_slice(&(last as u16).to_le_bytes());
        out
    }

    fn go_inline(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = GO_MAGIC.to_vec();
        b.extend_from_slice(&[8, 2]);
        b.resize(32, 0);
        let sentinel_start = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
        let sentinel_end = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";
        let mut m = sentinel_start.to_vec();
        m.extend_from_slice(modinfo.as_bytes());
        m.extend_from_slice(sentinel_end);
        for s in [version.as_bytes(), &m[..]] {
            let mut n = s.len();
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    b.push(byte);
                    break;
                }
                b.push(byte | 0x80);
            }
            b.extend_from_slice(s);
        }
        b
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    fn names(p: &[Package]) -> Vec<(String, String)> {
        p.iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    const MODINFO: &str = "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.0\th1:abc=\ndep\texample.com/old\tv1.0.0\n=>\texample.com/new\tv1.2.0\th1:def=\ndep\texample.com/local\tv0.1.0\n=>\t../local\t\t\nbuild\t-compiler=gc\n";

    #[test]
    fn go_build_information() {
        let want = [
            ("example.com/hello", "(devel)"),
            ("golang.org/x/text", "v0.3.0"),
            ("example.com/new", "v1.2.0"),
            ("example.com/local", "(devel)"),
            ("stdlib", "go1.22.1"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()));
        // In a .go.buildinfo section, and found by its magic without section headers.
        let info = go_inline("go1.22.1 X:nocoverageredesign", MODINFO);
        let bin = elf(&[(".text", b"\x90\x90"), (".go.buildinfo", &info)]);
        let got = inspect(&mut &bin[..], bin.len() as u64).unwrap();
        assert_eq!(names(&got), want);
        assert!(got.iter().all(|p| p.ecosystem == "golang"));
        let purls: Vec<String> = got.iter().map(|p| p.purl("debian")).collect();
        assert_eq!(purls[1], "pkg:golang/golang.org/x/text@v0.3.0");
        assert_eq!(purls[4], "pkg:golang/stdlib@1.22.1");
        let mut no_sections = bin.clone();
        no_sections[0x3c..0x3e].copy_from_slice(&[0, 0]);
        let got = inspect(&mut &no_sections[..], bin.len() as u64).unwrap();
        assert_eq!(names(&got), want);
        // Read a few bytes at a time, the magic split across reads.
        let got = inspect(&mut Trickle(&no_sections[..], 0), bin.len() as u64).unwrap();
        assert_eq!(names(&got), want);
        // Larger than IN_MEMORY: through a temporary file.
        let padding = vec![0x90u8; (IN_MEMORY + 12345) as usize];
        let mut big = elf(&[(".text", &padding), (".go.buildinfo", &info)]);
        big[0x3c..0x3e].copy_from_slice(&[0, 0]);
        let got = inspect(&mut &big[..], big.len() as u64).unwrap();
        assert_eq!(names(&got), want);
    }

    /// A reader that gives 1 to 7 bytes per read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 7 + 1;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn go_pointer_layout() {
        // Go 1.13-1.17: the header points at string headers; one PT_LOAD maps address
        // 0x400000 to file offset 0.
        let mut bin = elf(&[]);
        let base = 0x40_0000u64;
        let version = b"go1.16.15";
        let mut m = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
        m.extend_from_slice(b"path\tx\nmod\tx\t(devel)\t\ndep\ty.org/z\tv1.0.0\n");
        m.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
        while !bin.len().is_multiple_of(16) {
            bin.push(0);
        }
        let strings_at = bin.len() as u64;
        bin.extend_from_slice(version);
        let mod_at = bin.len() as u64;
        bin.extend_from_slice(&m);
        let headers_at = bin.len() as u64;
        for (at, n) in [(strings_at, version.len()), (mod_at, m.len())] {
            bin.extend_from_slice(&(base + at).to_le_bytes());
            bin.extend_from_slice(&(n as u64).to_le_bytes());
        }
        while !bin.len().is_multiple_of(16) {
            bin.push(0);
        }
        let mut h = GO_MAGIC.to_vec();
        h.extend_from_slice(&[8, 0]);
        h.extend_from_slice(&(base + headers_at).to_le_bytes());
        h.extend_from_slice(&(base + headers_at + 16).to_le_bytes());
        bin.extend_from_slice(&h);
        let phoff = bin.len() as u64;
        let mut ph = [0u8; 56];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes());
        ph[0x10..0x18].copy_from_slice(&base.to_le_bytes());
        ph[0x20..0x28].copy_from_slice(&(phoff + 56).to_le_bytes());
        bin.extend_from_slice(&ph);
        bin[0x20..0x28].copy_from_slice(&phoff.to_le_bytes());
        bin[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        bin[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        let got = inspect(&mut &bin[..], bin.len() as u64).unwrap();
        assert_eq!(
            names(&got),
            [
                ("x", "(devel)"),
                ("y.org/z", "v1.0.0"),
                ("stdlib", "go1.16.15")
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn cargo_auditable_section() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","kind":"runtime","dependencies":[1]},{"name":"itoa","version":"1.0.15","source":"crates.io"},{"name":"fork","version":"0.2.0","source":"git"}]}"#;
        let bin = elf(&[(".text", b"\x90"), (".dep-v0", &zlib(json))]);
        let got = inspect(&mut &bin[..], bin.len() as u64).unwrap();
        assert_eq!(names(&got), [("itoa".to_owned(), "1.0.15".to_owned())]);
        assert_eq!(got[0].ecosystem, "cargo");
        // Not zlib, not JSON, or inflating beyond the bound: nothing.
        assert!(auditable_packages(b"garbage").is_none());
        assert!(auditable_packages(&zlib(b"{\"packages\": 1}")).is_none());
        let huge = vec![b' '; (MAX_DEP_JSON + 10) as usize];
        assert!(auditable_packages(&zlib(&huge)).is_none());
    }

    #[test]
    fn malformed_binaries_give_nothing() {
        let info = go_inline("go1.22.1", MODINFO);
        let good = elf(&[
            (".go.buildinfo", &info),
            (".dep-v0", &zlib(b"{\"packages\":[]}")),
        ]);
        // Every truncation and many single-byte corruptions: no panic, no error.
        for cut in 0..good.len() {
            let mut r = &good[..cut];
            inspect(&mut r, cut as u64).unwrap();
        }
        for i in 0..good.len() {
            for x in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = x;
                inspect(&mut &bad[..], bad.len() as u64).unwrap();
            }
        }
        // Huge counts and offsets in the header.
        let mut bad = good.clone();
        bad[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(inspect(&mut &bad[..], bad.len() as u64).unwrap().is_empty());
        let mut bad = good.clone();
        bad[0x3a..0x40].copy_from_slice(&[0xff; 6]);
        inspect(&mut &bad[..], bad.len() as u64).unwrap();
        // Varints that never end, lengths beyond the file.
        assert_eq!(varint(&[0xff; 12]), None);
        let mut info = GO_MAGIC.to_vec();
        info.extend_from_slice(&[8, 2]);
        info.resize(32, 0);
        info.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        let bin = elf(&[(".go.buildinfo", &info)]);
        assert!(inspect(&mut &bin[..], bin.len() as u64).unwrap().is_empty());
        assert!(go_packages("", "garbage\n\t\t\n=>\tx\n").is_empty());
    }
}
