// Served registries: url/host, HTTP against the engine's data, close, and data dirs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const berth = createRequire(import.meta.url)('../index.js')
const sha256 = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex')

test('serve: url, HTTP reads and writes, close', async () => {
  const reg = await berth.serve()
  assert.match(reg.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(reg.url, `http://${reg.host}`)
  const ref = await reg.pushImage('team/app:1.0', { layers: [Buffer.from('layer')] })
  let res = await fetch(`${reg.url}/v2/team/app/tags/list`)
  assert.deepEqual(await res.json(), { name: 'team/app', tags: ['1.0'] })
  res = await fetch(`${reg.url}/v2/team/app/manifests/1.0`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
  assert.equal(res.headers.get('docker-content-digest'), ref.digest)
  res = await fetch(`${reg.url}/v2/team/other/blobs/uploads/?digest=${sha256('via http')}`, { method: 'POST', body: 'via http' })
  assert.equal(res.status, 201)
  assert.equal((await reg.pullBlob('team/other', sha256('via http'))).toString(), 'via http')
  const url = reg.url
  await reg.close()
  await assert.rejects(fetch(`${url}/v2/`))
  await reg.close()
  await assert.rejects(reg.catalog(), (e) => e.code === 'CLOSED')
})

test('open() is not served; serve() on a given data dir keeps data', async () => {
  const plain = await berth.open()
  assert.equal(plain.url, null)
  assert.equal(plain.host, null)
  await plain.close()
  const dir = join(mkdtempSync(join(tmpdir(), 'berth-node-')), 'data')
  const reg = await berth.serve({ uri: dir })
  await reg.pushImage('team/app:1.0', { layers: [Buffer.from('kept')] })
  await reg.close()
  assert.ok(existsSync(join(dir, 'berth.db')))
  const again = await berth.open({ uri: dir })
  assert.deepEqual(await again.listTags('team/app'), ['1.0'])
  await again.close()
  await assert.rejects(berth.serve({ addr: 'not an address' }), (e) => e.code === 'BAD_REQUEST')
})

test('start and stop are quick', async () => {
  const t0 = performance.now()
  const reg = await berth.serve()
  await reg.close()
  assert.ok(performance.now() - t0 < 5000)
})
