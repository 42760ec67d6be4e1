// Development server: serves dist/ the way Berth does (index.html at / and under /harbor/,
// dist files under /assets/) and forwards everything else (/api, /c, /v2, /service, …) to a
// running Berth, keeping the browser's Host header so cookies and origins look as in production.
// Usage: node dev-server.mjs --backend http://127.0.0.1:5080 [--listen 127.0.0.1:5173]
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const backend = new URL(opt('--backend', process.env.BERTH_URL ?? 'http://127.0.0.1:5080'));
const [host, port] = opt('--listen', '127.0.0.1:5173').split(':');
const dist = opt('--dist', join(dirname(fileURLToPath(import.meta.url)), 'dist'));
const TYPES = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };

async function sendFile(res, file) {
  try {
    const body = await readFile(file);
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, { 'Content-Type': TYPES[ext] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(body);
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (req.method === 'GET' && (path === '/' || path === '/harbor' || path.startsWith('/harbor/'))) return sendFile(res, join(dist, 'index.html'));
  if (req.method === 'GET' && path.startsWith('/assets/')) {
    const name = normalize(path.slice('/assets/'.length));
    if (name.includes('..') || name.includes('/')) {
      res.writeHead(404);
      return res.end();
    }
    return sendFile(res, join(dist, name));
  }
  const up = http.request(
    { host: backend.hostname, port: backend.port || 80, method: req.method, path: req.url, headers: req.headers },
    (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    },
  );
  up.on('error', (e) => {
    res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'BAD_GATEWAY', message: String(e.message) }] }));
  });
  req.pipe(up);
});
server.listen(Number(port), host, () => console.log(`portal dev server on http://${host}:${port}, backend ${backend.origin}`));
