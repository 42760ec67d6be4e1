// Governance through the binding: quotas, garbage collection, read-only mode, the audit log,
// and a GC run started over HTTP executed by the served registry's job workers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rejectsWithCode } from './helpers.mjs'
import { createRequire } from 'node:module'

const berth = createRequire(import.meta.url)('..')


test('quota: counted once per project, refused over the limit, changed', async () => {
  const reg = await berth.open()
  await reg.createProject('team', { storageLimit: 10000 })
  const q = await reg.quota('team')
  assert.deepEqual([q.hard.storage, q.used.storage, q.ref.name], [10000, 0, 'team'])
  await reg.pushBlob('team/app', Buffer.alloc(4000, 'a'))
  await reg.pushBlob('team/other', Buffer.alloc(4000, 'a'))
  assert.equal((await reg.quota('team')).used.storage, 4000)
  await rejectsWithCode(reg.pushBlob('team/app', Buffer.alloc(7000, 'b')), 'DENIED', /quota exceeded in project team/)
  assert.equal((await reg.quota('team')).used.storage, 4000)
  await reg.setStorageLimit('team', -1)
  await reg.pushBlob('team/app', Buffer.alloc(7000, 'b'))
  assert.equal((await reg.quota('team')).used.storage, 11000)
  await rejectsWithCode(reg.setStorageLimit('team', -3), 'BAD_REQUEST')
  await rejectsWithCode(reg.quota('nope'), 'NOT_FOUND')
  await reg.close()
})

test('garbage collection frees what nothing references', async () => {
  const reg = await berth.open()
  await reg.createProject('gc')
  await reg.pushImage('gc/app:keep', { layers: [Buffer.from('kept layer')] })
  const orphan = await reg.pushBlob('gc/app', Buffer.from('orphan bytes'))
  await new Promise((r) => setTimeout(r, 20)) // older than a zero grace period: strictly before now
  const dry = await reg.gc({ dryRun: true, graceSeconds: 0 })
  assert.deepEqual([dry.dry_run, dry.purged_blobs, dry.freed_space], [true, 1, 12])
  assert.equal(await reg.statBlob('gc/app', orphan), 12)
  const report = await reg.gc({ graceSeconds: 0, workers: 2 })
  assert.deepEqual([report.purged_blobs, report.dropped_links], [1, 1])
  await rejectsWithCode(reg.statBlob('gc/app', orphan), 'BLOB_UNKNOWN')
  assert.equal(Buffer.from((await reg.pullImage('gc/app:keep')).layers[0].data).toString(), 'kept layer')
  assert.equal((await reg.gc()).purged_blobs, 0)
  await rejectsWithCode(reg.gc({ workers: 11 }), 'BAD_REQUEST')
  await reg.close()
})

test('read-only mode and the audit log', async () => {
  const reg = await berth.open()
  await reg.createProject('ro')
  await reg.pushImage('ro/app:1', { layers: [Buffer.from('x')] })
  assert.equal(await reg.readOnly(), false)
  await reg.setReadOnly(true)
  await rejectsWithCode(reg.pushImage('ro/app:2', { layers: [Buffer.from('y')] }), 'DENIED', /read-only/)
  assert.equal(Buffer.from((await reg.pullImage('ro/app:1')).layers[0].data).toString(), 'x')
  await reg.setReadOnly(false)
  await reg.pushImage('ro/app:2', { layers: [Buffer.from('y')] })
  const log = await reg.auditLogs({ q: 'operation=create' })
  const resources = new Set(log.items.map((e) => e.resource))
  assert.ok(resources.has('ro/app:1') && resources.has('ro/app:2'), [...resources].join(','))
  await rejectsWithCode(reg.auditLogs({ q: 'nonsense=1' }), 'BAD_REQUEST')
  await reg.close()
})

test('a GC started over HTTP runs on the served registry', async () => {
  const srv = await berth.serve({ adminPassword: 'Gc-Admin-Pass-1' })
  await srv.createProject('web')
  await srv.pushBlob('web/app', Buffer.from('unreferenced'))
  const auth = { authorization: 'Basic ' + Buffer.from('admin:Gc-Admin-Pass-1').toString('base64') }
  const res = await fetch(`${srv.url}/api/v2.0/system/gc/schedule`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { dry_run: true } }),
  })
  assert.equal(res.status, 201, await res.text())
  const id = res.headers.get('location').split('/').pop()
  let status
  for (let i = 0; i < 200 && status !== 'Success' && status !== 'Error'; i++) {
    status = (await (await fetch(`${srv.url}/api/v2.0/system/gc/${id}`, { headers: auth })).json()).job_status
    if (status !== 'Success') await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(status, 'Success')
  assert.match(await (await fetch(`${srv.url}/api/v2.0/system/gc/${id}/log`, { headers: auth })).text(), /would delete/)
  await srv.close()
})

test('retention dry run lists what a run would delete', async () => {
  const reg = await berth.open()
  const pid = (await reg.createProject('ret')).project_id
  for (let i = 0; i < 4; i++) await reg.pushImage(`ret/app:v${i}`, { layers: [Buffer.from(`layer ${i}`)] })
  const rule = {
    action: 'retain',
    template: 'latestPushedK',
    params: { latestPushedK: 1 },
    tag_selectors: [{ kind: 'regex', decoration: 'matches', pattern: 'v[0-9]+' }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
  }
  const policy = { algorithm: 'or', rules: [rule], trigger: { kind: 'Schedule', settings: { cron: '' } }, scope: { level: 'project', ref: pid } }
  const rid = await reg.createRetention(policy)
  const [p] = await reg.retentionDryRun(rid)
  assert.deepEqual([p.repository, p.total, p.retained, p.deleted.length], ['ret/app', 4, 1, 3])
  assert.deepEqual(await reg.listTags('ret/app'), ['v0', 'v1', 'v2', 'v3'])
  await rejectsWithCode(reg.createRetention({ ...policy, rules: [{ ...rule, template: 'sometimes' }] }), 'BAD_REQUEST')
  await reg.close()
})
