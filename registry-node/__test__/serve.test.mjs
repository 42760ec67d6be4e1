// Served registries: url/host, the admin credentials, HTTP (authenticated) against the engine's
// data, close, and data dirs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const berth = createRequire(import.meta.url)('..')
const sha256 = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex')
const basic = (user, password) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') })

test('serve: url, credentials, HTTP reads and writes, close', async () => {
  const reg = await berth.serve()
  assert.match(reg.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(reg.url, `http://${reg.host}`)
  assert.equal(reg.adminUsername, 'admin')
  assert.ok(reg.adminPassword.length >= 16)
  const admin = basic(reg.adminUsername, reg.adminPassword)
  assert.equal((await reg.project('library')).metadata.public, 'true')
  await reg.createProject('team')
  const ref = await reg.pushImage('team/app:1.0', { layers: [Buffer.from('layer')] })
  let res = await fetch(`${reg.url}/v2/team/app/tags/list`, { headers: admin })
  assert.deepEqual(await res.json(), { name: 'team/app', tags: ['1.0'] })
  res = await fetch(`${reg.url}/v2/team/app/manifests/1.0`, { headers: { ...admin, accept: 'application/vnd.oci.image.manifest.v1+json' } })
  assert.equal(res.headers.get('docker-content-digest'), ref.digest)
  res = await fetch(`${reg.url}/v2/team/other/blobs/uploads/?digest=${sha256('via http')}`, { method: 'POST', body: 'via http', headers: admin })
  assert.equal(res.status, 201)
  assert.equal((await reg.pullBlob('team/other', sha256('via http'))).toString(), 'via http')
  // Without credentials: a Bearer challenge to the token service, and nothing of a private project.
  res = await fetch(`${reg.url}/v2/`)
  assert.equal(res.status, 401)
  assert.match(res.headers.get('www-authenticate'), /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token"/)
  assert.equal((await fetch(`${reg.url}/v2/team/app/tags/list`)).status, 401)
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('admin', 'wrong') })).status, 401)
  const url = reg.url
  await reg.close()
  await assert.rejects(fetch(`${url}/v2/`))
  await reg.close()
  await assert.rejects(reg.catalog(), (e) => e.code === 'CLOSED')
})

test('open() is not served; serve() on a given data dir keeps data and its admin', async () => {
  const plain = await berth.open()
  assert.equal(plain.url, null)
  assert.equal(plain.host, null)
  assert.equal(plain.adminUsername, null)
  assert.equal(plain.adminPassword, null)
  const generated = await plain.bootstrap()
  assert.equal((await plain.login('admin', generated)).sysadmin, true)
  assert.equal(await plain.bootstrap(), null)
  await plain.close()
  const dir = join(mkdtempSync(join(tmpdir(), 'berth-node-')), 'data')
  const reg = await berth.serve({ uri: dir, adminPassword: 'Given-Pass-1' })
  assert.equal(reg.adminPassword, 'Given-Pass-1')
  await reg.pushImage('library/app:1.0', { layers: [Buffer.from('kept')] })
  await reg.close()
  assert.ok(existsSync(join(dir, 'berth.db')))
  const again = await berth.serve({ uri: dir })
  assert.equal(again.adminPassword, null) // the admin exists; nothing was generated
  assert.deepEqual(await again.listTags('library/app'), ['1.0'])
  const res = await fetch(`${again.url}/v2/library/app/tags/list`) // library is public
  assert.deepEqual((await res.json()).tags, ['1.0'])
  assert.equal((await fetch(`${again.url}/v2/`, { headers: basic('admin', 'Given-Pass-1') })).status, 200)
  await again.close()
  await assert.rejects(berth.serve({ addr: 'not an address' }), (e) => e.code === 'BAD_REQUEST')
  await assert.rejects(berth.serve({ adminPassword: 'weak' }), (e) => e.code === 'BAD_REQUEST')
})

test('start and stop are quick', async () => {
  const t0 = performance.now()
  const reg = await berth.serve()
  await reg.close()
  assert.ok(performance.now() - t0 < 5000)
})
