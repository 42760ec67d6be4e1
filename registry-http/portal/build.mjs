// Builds the portal into dist/: index.html, assets app.js and app.css (minified, no source maps).
// The server serves index.html at / and under /harbor/, and every file of dist/ at /assets/<name>.
// Usage: node build.mjs [--watch]
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');
const LIMIT = 300 * 1024;

// The compiler already makes zh have exactly en's keys; this checks what types cannot: every
// string is non-empty, a translation keeps the same {placeholders}, and Chinese strings hold no
// run of 3+ ASCII letters except product names (the browser test's rule, applied early).
const ALLOWED_LATIN = new Set(['Berth', 'Harbor', 'Docker', 'OCI', 'CVE', 'SBOM', 'LDAP', 'OIDC', 'CSV', 'JSON', 'GC', 'cosign', 'notation', 'nydus', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']);
async function checkDictionaries() {
  const out = await esbuild.build({
    stdin: { contents: "export { en } from './i18n/en'; export { zh } from './i18n/zh';", resolveDir: join(root, 'src'), loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'silent',
  });
  const { en, zh } = await import('data:text/javascript;base64,' + Buffer.from(out.outputFiles[0].text).toString('base64'));
  const problems = [];
  const vars = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const [key, text] of Object.entries(en)) {
    const tr = zh[key];
    if (!text.trim() || !tr?.trim()) problems.push(`${key}: empty`);
    else if (vars(text) !== vars(tr)) problems.push(`${key}: placeholders {${vars(text)}} in en, {${vars(tr)}} in zh`);
    for (const w of (tr ?? '').replace(/\{\w+\}/g, '').match(/[A-Za-z]{3,}/g) ?? []) if (!ALLOWED_LATIN.has(w)) problems.push(`${key}: untranslated "${w}" in zh`);
  }
  if (problems.length) {
    console.error(`dictionaries:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`dictionaries: ${Object.keys(en).length} keys, en and zh agree`);
}
await checkDictionaries();

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
copyFileSync(join(root, 'src', 'index.html'), join(dist, 'index.html'));

const options = {
  entryPoints: { app: join(root, 'src', 'main.tsx') },
  bundle: true,
  minify: !watch,
  sourcemap: false,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir: dist,
  entryNames: '[name]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('watching src/ …');
} else {
  await esbuild.build(options);
  let total = 0;
  for (const name of ['app.js', 'app.css']) {
    const bytes = readFileSync(join(dist, name));
    const gz = gzipSync(bytes, { level: 9 }).length;
    total += gz;
    console.log(`${name.padEnd(8)} ${String(bytes.length).padStart(8)} bytes, ${String(gz).padStart(7)} bytes gzipped`);
  }
  console.log(`shipped JS+CSS: ${(total / 1024).toFixed(1)} KiB gzipped (limit ${LIMIT / 1024} KiB)`);
  if (total > LIMIT) {
    console.error('bundle over the size limit');
    process.exit(1);
  }
}
