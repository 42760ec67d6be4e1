// Replication through the binding, against a real Distribution 2.8 (Debian docker-registry).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { rejectsWithCode, startDistribution } from './helpers.mjs'

const berth = createRequire(import.meta.url)('..')

test('replicate mirrors fixtures in one call, both ways', async () => {
  const dist = await startDistribution()
  try {
    const src = await berth.open()
    const dst = await berth.open()
    await src.createProject('fix')
    const image = await src.pushImage('fix/app:v1', { layers: [Buffer.from('fixture layer')] })
    const out = await src.replicate(`${dist.url}/mirror/app`, 'fix/app', { push: true })
    assert.deepEqual([out.copied, out.blobs_copied], [['v1'], 2])
    const got = await dst.replicate(`${dist.url}/mirror/app`, 'mirrored/app')
    assert.deepEqual(got.copied, ['v1'])
    assert.equal((await dst.pullImage('mirrored/app:v1')).digest, image.digest)
    const again = await dst.replicate(`${dist.url}/mirror/app`, 'mirrored/app', { tags: ['v1'] })
    assert.deepEqual([again.copied, again.skipped, again.blobs_copied], [[], ['v1'], 0])
    await rejectsWithCode(dst.replicate(`${dist.url}/`, 'mirrored/app'), 'BAD_REQUEST')
    await rejectsWithCode(dst.replicate('http://127.0.0.1:9/nothing/here', 'mirrored/app'), 'UNAVAILABLE')
  } finally {
    dist.stop()
  }
})

test('registry endpoints, policies and proxy-cache projects', async () => {
  const dist = await startDistribution()
  try {
    const reg = await berth.open()
    await reg.createProject('src')
    const image = await reg.pushImage('src/app:v1', { layers: [Buffer.from('layer')] })
    const ep = await reg.createRegistry('dist', dist.url, { accessKey: 'u', accessSecret: 'never shown' })
    assert.equal(ep.credential.access_secret, '*****')
    const policy = await reg.createReplicationPolicy({
      name: 'out',
      dest_registry: { id: ep.id },
      dest_namespace: 'copy',
      dest_namespace_replace_count: 1,
      filters: [{ type: 'name', value: 'src/**' }],
    })
    const execution = await reg.startReplication(policy.id)
    await reg.runJobs()
    const run = await reg.replicationExecution(execution)
    assert.deepEqual([run.status, run.total, run.succeed], ['Succeed', 1, 1])
    const back = await reg.replicate(`${dist.url}/copy/app`, 'back/app')
    assert.deepEqual(back.copied, ['v1'])
    assert.equal((await reg.pullImage('back/app:v1')).digest, image.digest)
    const proxy = await reg.createProxyProject('hub', ep.id)
    assert.equal(proxy.registry_id, ep.id)
    await rejectsWithCode(reg.createProxyProject('hub2', 999), 'BAD_REQUEST')
    await rejectsWithCode(reg.createReplicationPolicy({ name: 'bad' }), 'BAD_REQUEST')
  } finally {
    dist.stop()
  }
})
