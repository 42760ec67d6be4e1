// Shared by the test files (not a test file itself: node --test runs *.test.mjs).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/** The promise rejects with an Error whose `code` is `code` (and whose message matches `re`). */
export async function rejectsWithCode(promise, code, re) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, code, e.message)
    if (re) assert.match(e.message, re)
    return true
  })
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

/** A Distribution 2.8 server (Debian docker-registry) on a free loopback port: { url, stop }. */
export async function startDistribution() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dist-'))
  const port = await freePort()
  const config = path.join(dir, 'config.yml')
  fs.writeFileSync(
    config,
    `version: 0.1\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: 127.0.0.1:${port} }\n`,
  )
  const proc = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 150; i++) {
    try {
      await fetch(`${url}/v2/`)
      break
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    stop: () => {
      proc.kill()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
