// The Node API without HTTP: blobs, uploads, manifests, tags, images, OCI layouts, errors with
// .code, and the closed state. Content only enters existing projects: each registry here first
// creates the projects its repositories live in (openWith).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rejectsWithCode } from './helpers.mjs'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const berth = createRequire(import.meta.url)('..')
const sha256 = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex')
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

async function openWith(...projects) {
  const reg = await berth.open()
  for (const p of projects) await reg.createProject(p)
  return reg
}


test('version and name check', () => {
  assert.match(berth.version(), /^\d+\.\d+\.\d+$/)
  berth.checkRepositoryName('team/app')
  assert.throws(() => berth.checkRepositoryName('Team/App'), (e) => e.code === 'NAME_INVALID')
})

test('blobs: push, stat, pull, delete, mount', async () => {
  const reg = await openWith('team')
  const d = await reg.pushBlob('team/app', Buffer.from('hello'))
  assert.equal(d, sha256('hello'))
  assert.equal(await reg.statBlob('team/app', d), 5)
  assert.deepEqual(await reg.pullBlob('team/app', d), Buffer.from('hello'))
  assert.equal(await reg.pushBlob('team/app', new Uint8Array([1, 2, 3])), sha256(Buffer.from([1, 2, 3])))
  assert.equal(await reg.mountBlob('team/b', d, 'team/app'), 5)
  assert.equal(await reg.mountBlob('team/c', sha256('nothing'), 'team/app'), null)
  await reg.deleteBlob('team/app', d)
  await rejectsWithCode(reg.statBlob('team/app', d), 'BLOB_UNKNOWN')
  await reg.close()
})

test('blob files stream both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-node-'))
  const payload = Buffer.alloc(3 << 20, 7)
  writeFileSync(join(dir, 'in.bin'), payload)
  const reg = await openWith('team')
  const d = await reg.pushBlobFile('team/app', join(dir, 'in.bin'))
  assert.equal(d, sha256(payload))
  assert.equal(await reg.saveBlob('team/app', d, join(dir, 'out', 'copy.bin')), payload.length)
  assert.deepEqual(readFileSync(join(dir, 'out', 'copy.bin')), payload)
  await reg.close()
})

test('chunked upload session', async () => {
  const reg = await openWith('team')
  const data = Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)])
  const id = await reg.startUpload('team/app')
  assert.equal(await reg.appendUpload('team/app', id, data.subarray(0, 1000), 0), 1000)
  assert.equal(await reg.uploadStatus('team/app', id), 1000)
  await rejectsWithCode(reg.appendUpload('team/app', id, Buffer.from('zz'), 5), 'RANGE_INVALID')
  assert.equal(await reg.finishUpload('team/app', id, sha256(data), data.subarray(1000)), 1500)
  assert.deepEqual(await reg.pullBlob('team/app', sha256(data)), data)
  const other = await reg.startUpload('team/app')
  await reg.cancelUpload('team/app', other)
  await rejectsWithCode(reg.uploadStatus('team/app', other), 'BLOB_UPLOAD_UNKNOWN')
  assert.equal(await reg.purgeUploads(0), 0)
  await reg.close()
})

test('manifests, tags, catalog, referrers, delete', async () => {
  const reg = await openWith('team')
  const config = Buffer.from('{}')
  const layer = Buffer.from('layer')
  await reg.pushBlob('team/app', config)
  await reg.pushBlob('team/app', layer)
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: 5 }],
  }))
  const pushed = await reg.putManifest('team/app', 'v1', body, OCI_MANIFEST, ['latest'])
  assert.equal(pushed.digest, sha256(body))
  assert.deepEqual(pushed.tags, ['v1', 'latest'])
  const m = await reg.getManifest('team/app', 'v1')
  assert.equal(m.mediaType, OCI_MANIFEST)
  assert.deepEqual(m.content, body)
  assert.deepEqual(await reg.listTags('team/app'), ['latest', 'v1'])
  assert.deepEqual(await reg.listTags('team/app', { n: 1 }), ['latest'])
  assert.deepEqual(await reg.listTags('team/app', { last: 'latest' }), ['v1'])
  assert.deepEqual(await reg.catalog(), ['team/app'])
  const index = await reg.referrers('team/app', pushed.digest)
  assert.deepEqual(index.manifests, [])
  await reg.deleteManifest('team/app', 'latest')
  assert.deepEqual(await reg.listTags('team/app'), ['v1'])
  await reg.deleteManifest('team/app', pushed.digest)
  await rejectsWithCode(reg.getManifest('team/app', 'v1'), 'MANIFEST_UNKNOWN')
  await reg.close()
})

test('push and pull images, with a file layer and a JSON config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-node-'))
  writeFileSync(join(dir, 'layer.tar'), 'from a file')
  const reg = await openWith('team')
  const ref = await reg.pushImage('team/app:1.0', {
    layers: [Buffer.from('first'), join(dir, 'layer.tar')],
    config: { architecture: 'amd64', os: 'linux' },
    annotations: { 'org.opencontainers.image.title': 'app' },
  })
  assert.deepEqual(ref.tags, ['1.0'])
  assert.equal(ref.reference, `team/app@${ref.digest}`)
  assert.deepEqual(ref.layers, [sha256('first'), sha256('from a file')])
  const img = await reg.pullImage('team/app:1.0')
  assert.equal(img.digest, ref.digest)
  assert.deepEqual(JSON.parse(img.config), { architecture: 'amd64', os: 'linux' })
  assert.deepEqual(img.layers.map((l) => l.data.toString()), ['first', 'from a file'])
  const raw = await reg.pushImage('team/app:raw', { layers: [new Uint8Array([9])], config: Buffer.from('{"x":1}'), layerMediaType: 'application/x-test' })
  const back = await reg.pullImage(raw.reference)
  assert.equal(back.layers[0].mediaType, 'application/x-test')
  assert.equal(back.config.toString(), '{"x":1}')
  await reg.close()
})

test('OCI layout export and import', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-node-'))
  const layout = join(dir, 'layout')
  const a = await openWith('team')
  const one = await a.pushImage('team/app:1.0', { layers: [Buffer.from('one')] })
  assert.equal(await a.exportLayout('team/app:1.0', layout), one.digest)
  assert.ok(existsSync(join(layout, 'oci-layout')))
  const b = await berth.open({ uri: join(dir, 'data') })
  await b.createProject('mirror')
  const out = await b.importLayout(layout, 'mirror/app')
  assert.deepEqual(out.map((m) => m.digest), [one.digest])
  assert.deepEqual(await b.listTags('mirror/app'), ['1.0'])
  await rejectsWithCode(b.importLayout(join(dir, 'missing'), 'x/y'), 'NOT_FOUND')
  await a.close()
  await b.close()
})

test('errors are classified with codes', async () => {
  const reg = await openWith('team')
  await rejectsWithCode(reg.listTags('Team/App'), 'NAME_INVALID')
  await rejectsWithCode(reg.listTags('team/none'), 'NAME_UNKNOWN')
  await rejectsWithCode(reg.getManifest('team/app', 'bad tag!'), 'TAG_INVALID')
  await rejectsWithCode(reg.pullBlob('team/app', 'sha256:nothex'), 'DIGEST_INVALID')
  await rejectsWithCode(reg.putManifest('team/app', 'v1', Buffer.from('not json')), 'MANIFEST_INVALID')
  await rejectsWithCode(reg.pushImage('team/app:1', { layers: ['/no/such/file'] }), 'UNKNOWN')
  await rejectsWithCode(berth.open({ uri: 'ftp://nowhere' }), 'BAD_REQUEST')
  await rejectsWithCode(berth.open({ metadata: 'sqlite://x.db' }), 'BAD_REQUEST')
  await rejectsWithCode(reg.pushImage('nowhere/app:1', { layers: [Buffer.from('x')] }), 'DENIED')
  await rejectsWithCode(reg.pushBlob('app', Buffer.from('x')), 'NAME_INVALID')
  // Wrong JS types are refused before any engine call: a TypeError with code BAD_REQUEST (napi's
  // own error is its cause), rejected like every other failure.
  for (const call of [() => reg.pushBlob('team/app', 'a string'), () => reg.listTags(42), () => reg.createProject(7), () => reg.project({})]) {
    await assert.rejects(call(), (e) => {
      assert.ok(e instanceof TypeError)
      assert.equal(e.code, 'BAD_REQUEST')
      return true
    })
  }
  assert.throws(() => berth.checkRepositoryName(42), (e) => e instanceof TypeError && e.code === 'BAD_REQUEST')
  await reg.close()
})

test('closing twice is harmless; use after close rejects with CLOSED', async () => {
  const reg = await openWith('team')
  assert.equal(reg.closed, false)
  await reg.close()
  await reg.close()
  assert.equal(reg.closed, true)
  await rejectsWithCode(reg.catalog(), 'CLOSED')
  await rejectsWithCode(reg.pushBlob('a/b', Buffer.from('x')), 'CLOSED')
})

test('many concurrent calls', async () => {
  const reg = await openWith('team')
  const pushed = await Promise.all(Array.from({ length: 50 }, (_, i) => reg.pushImage(`team/app:${i}`, { layers: [Buffer.from(String(i))] })))
  assert.equal(new Set(pushed.map((p) => p.digest)).size, 50)
  assert.equal((await reg.listTags('team/app')).length, 50)
  await reg.close()
})
