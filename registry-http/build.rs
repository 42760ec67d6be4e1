//! With the `portal` feature, build the web portal (`portal/`, TypeScript) into `portal/dist`,
//! which `src/portal.rs` embeds. Needs Node.js and npm (the README's commands install them);
//! `npm ci` runs when `node_modules` is missing or older than `package-lock.json`.
//!
//! - `BERTH_PORTAL_PREBUILT=1` skips npm and embeds `portal/dist` as it is.
//! - Without npm on the PATH, the crate builds without a portal (with a warning), so a Rust
//!   embedder is never forced to install Node; `berth serve` then says so at `/`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BERTH_PORTAL_PREBUILT");
    if std::env::var_os("CARGO_FEATURE_PORTAL").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("portal");
    // Only paths that exist: cargo counts a missing one as changed, on every build.
    println!("cargo:rerun-if-changed=build.rs");
    for f in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "build.mjs",
        "tsconfig.json",
    ] {
        if dir.join(f).exists() {
            println!("cargo:rerun-if-changed=portal/{f}");
        }
    }
    if std::env::var_os("BERTH_PORTAL_PREBUILT").is_some() || !dir.join("package.json").exists() {
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        println!(
            "cargo:warning=npm not found: building without the web portal (install Node.js and npm, or set BERTH_PORTAL_PREBUILT=1 with a built portal/dist)"
        );
        return;
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&dir.join("package-lock.json")) {
        run(
            &dir,
            npm,
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        );
    }
    run(&dir, npm, &["run", "--silent", "build"]);
}

fn run(dir: &Path, npm: &str, args: &[&str]) {
    let out = Command::new(npm)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running npm {}: {e}", args.join(" ")));
    if !out.status.success() {
        panic!(
            "npm {} failed in {}:\n{}\n{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
