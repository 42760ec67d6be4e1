// Identity and access through the binding: projects, users, members, robots, content views, and
// fetch() authenticating as the users and robots the binding created.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rejectsWithCode } from './helpers.mjs'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'

const berth = createRequire(import.meta.url)('..')
const sha256 = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex')
const basic = (user, password) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') })
const PASSWORD = 'Dev-Pass-1'


async function pushBlob(reg, repo, data, headers = {}) {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data, headers })
  return res.status
}

test('projects: create, read by name and id, list, update, delete', async () => {
  const reg = await berth.open()
  const team = await reg.createProject('team', { metadata: { auto_scan: 'true' } })
  assert.equal(team.name, 'team')
  assert.deepEqual(team.metadata, { auto_scan: 'true', public: 'false' })
  assert.equal((await reg.project(team.project_id)).name, 'team')
  await reg.createProject('docs', { public: true })
  const page = await reg.projects()
  assert.deepEqual([page.total, page.page, page.page_size], [2, 1, 10])
  assert.deepEqual(page.items.map((p) => p.name), ['docs', 'team'])
  assert.deepEqual((await reg.projects({ q: 'public=true' })).items.map((p) => p.name), ['docs'])
  assert.deepEqual((await reg.projects({ sort: '-name', pageSize: 1 })).items.map((p) => p.name), ['team'])
  await reg.updateProject('team', { severity: 'high' })
  assert.equal((await reg.project('team')).metadata.severity, 'high')
  await reg.pushImage('team/app:1', { layers: [Buffer.from('x')] })
  await rejectsWithCode(reg.deleteProject('team'), 'PRECONDITION')
  await reg.deleteRepository('team', 'app')
  await reg.deleteProject('team')
  await rejectsWithCode(reg.project('team'), 'NOT_FOUND')
  await reg.close()
})

test('management errors carry classified codes', async () => {
  const reg = await berth.open()
  await reg.bootstrap('Admin-Pass-1')
  await rejectsWithCode(reg.createProject('Not Valid'), 'BAD_REQUEST')
  await rejectsWithCode(reg.createProject('library'), 'CONFLICT')
  await rejectsWithCode(reg.project('nowhere'), 'NOT_FOUND')
  await rejectsWithCode(reg.projects({ q: 'owner=me' }), 'BAD_REQUEST')
  await rejectsWithCode(reg.createUser('bob', 'short'), 'BAD_REQUEST')
  await rejectsWithCode(reg.createUser('admin', PASSWORD), 'CONFLICT')
  await rejectsWithCode(reg.addMember('library', { username: 'nobody' }), 'NOT_FOUND')
  await rejectsWithCode(reg.addMember('library', { username: 'admin', role: 'owner' }), 'BAD_REQUEST')
  await rejectsWithCode(reg.addMember('library', {}), 'BAD_REQUEST')
  await rejectsWithCode(reg.createRobot('ci', { access: [{ resource: 'repository', action: 'pull' }] }), 'BAD_REQUEST')
  await rejectsWithCode(reg.createRobot('ci', { project: 'library', access: [{ resource: 'nope', action: 'pull' }] }), 'BAD_REQUEST')
  await rejectsWithCode(reg.createRobot('ci', { project: 'nowhere', access: [{ resource: 'repository', action: 'pull' }] }), 'NOT_FOUND')
  await rejectsWithCode(reg.login('admin', 'wrong'), 'UNAUTHORIZED')
  await rejectsWithCode(reg.deleteRobot(42), 'NOT_FOUND')
  await reg.close()
})

test('users and members', async () => {
  const reg = await berth.open()
  await reg.createProject('team')
  const alice = await reg.createUser('alice', PASSWORD, { email: 'alice@example.com' })
  assert.deepEqual([alice.username, alice.sysadmin_flag, alice.source], ['alice', false, 'local'])
  assert.deepEqual(await reg.login('alice', PASSWORD), { kind: 'user', name: 'alice', id: alice.user_id, sysadmin: false })
  await reg.setSysadmin(alice.user_id, true)
  assert.equal((await reg.user(alice.user_id)).sysadmin_flag, true)
  assert.deepEqual((await reg.users()).items.map((u) => u.username), ['alice'])
  const memberId = await reg.addMember('team', { username: 'alice' })
  let members = (await reg.members('team')).items
  assert.deepEqual(members.map((m) => [m.id, m.entity_name, m.role_name]), [[memberId, 'alice', 'developer']])
  await reg.updateMember('team', memberId, 'guest')
  await reg.updateMember('team', memberId, 4) // Harbor's role id: maintainer
  members = (await reg.members('team', { q: 'entityname=~ali' })).items
  assert.equal(members[0].role_name, 'maintainer')
  const groupId = await reg.addMember('team', { group: 'ops', role: 'limitedGuest' })
  assert.equal((await reg.members('team')).total, 2)
  await reg.deleteMember('team', groupId)
  await reg.deleteMember('team', memberId)
  await reg.changePassword(alice.user_id, 'New-Pass-22')
  assert.equal((await reg.login('alice', 'New-Pass-22')).name, 'alice')
  await reg.deleteUser(alice.user_id)
  await rejectsWithCode(reg.login('alice', 'New-Pass-22'), 'UNAUTHORIZED')
  await reg.close()
})

test('a developer pushes over HTTP, a guest gets 403, anonymous 401', async () => {
  const reg = await berth.serve()
  await reg.createProject('team')
  await reg.createUser('dev', PASSWORD)
  await reg.createUser('guest', PASSWORD)
  await reg.addMember('team', { username: 'dev', role: 'developer' })
  await reg.addMember('team', { username: 'guest', role: 3 })
  assert.equal(await pushBlob(reg, 'team/app', 'by dev', basic('dev', PASSWORD)), 201)
  assert.equal(await pushBlob(reg, 'team/app', 'by guest', basic('guest', PASSWORD)), 403)
  assert.equal(await pushBlob(reg, 'team/app', 'anonymous'), 401)
  // The guest can pull; a token from the token service carries what the role allows.
  const digest = sha256('by dev')
  let res = await fetch(`${reg.url}/v2/team/app/blobs/${digest}`, { headers: basic('guest', PASSWORD) })
  assert.equal(await res.text(), 'by dev')
  res = await fetch(`${reg.url}/service/token?service=harbor-registry&scope=repository:team/app:pull,push`, { headers: basic('guest', PASSWORD) })
  const { token } = await res.json()
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'))
  assert.deepEqual(claims.access[0].actions, ['pull'])
  res = await fetch(`${reg.url}/v2/team/app/blobs/${digest}`, { headers: { authorization: `Bearer ${token}` } })
  assert.equal(res.status, 200)
  assert.deepEqual((await reg.repositories('team')).items.map((r) => r.name), ['team/app'])
  await reg.close()
})

test('robots: secret shown once, pushes with it, refresh replaces it', async () => {
  const reg = await berth.serve()
  const team = await reg.createProject('team')
  const ci = await reg.createRobot('ci', {
    project: 'team',
    access: [{ resource: 'repository', action: 'push' }, { resource: 'repository', action: 'pull' }],
  })
  assert.equal(ci.name, 'robot$team+ci')
  assert.equal(ci.expires_at, -1)
  assert.ok(ci.secret.length >= 8)
  const reader = await reg.createRobot('reader', { project: 'team', access: [{ resource: 'repository', action: 'pull' }], duration: 7 })
  const listed = await reg.robots({ q: `Level=project,ProjectID=${team.project_id}` })
  assert.deepEqual(listed.items.map((r) => r.name), ['robot$team+ci', 'robot$team+reader'])
  assert.ok(listed.items.every((r) => !('secret' in r)))
  assert.ok(!('secret' in (await reg.robot(ci.id))))
  assert.deepEqual(await reg.login(ci.name, ci.secret), { kind: 'robot', name: 'robot$team+ci', id: ci.id, sysadmin: false })
  assert.equal(await pushBlob(reg, 'team/build', 'ci', basic(ci.name, ci.secret)), 201)
  assert.equal(await pushBlob(reg, 'team/build', 'reader', basic(reader.name, reader.secret)), 403)
  assert.equal(await pushBlob(reg, 'library/build', 'ci', basic(ci.name, ci.secret)), 403)
  const fresh = await reg.refreshRobotSecret(ci.id)
  assert.notEqual(fresh, ci.secret)
  assert.equal(await pushBlob(reg, 'team/build', 'old', basic(ci.name, ci.secret)), 401)
  assert.equal(await pushBlob(reg, 'team/build', 'new', basic(ci.name, fresh)), 201)
  await reg.deleteRobot(reader.id)
  await rejectsWithCode(reg.robot(reader.id), 'NOT_FOUND')
  const sys = await reg.createRobot('mirror', { permissions: [{ kind: 'project', namespace: '*', access: [{ resource: 'repository', action: 'pull' }] }] })
  assert.equal(sys.name, 'robot$mirror')
  assert.equal((await reg.robot(sys.id)).level, 'system')
  await reg.close()
})

test('artifacts, tags and labels', async () => {
  const reg = await berth.open()
  const team = await reg.createProject('team')
  const one = await reg.pushImage('team/app:1.0', { layers: [Buffer.from('one')] })
  await reg.pushImage('team/app:2.0', { layers: [Buffer.from('two')] })
  assert.equal((await reg.artifacts('team', 'app')).total, 2)
  assert.deepEqual((await reg.artifacts('team', 'app', { q: 'tags=1.0' })).items.map((a) => a.digest), [one.digest])
  await reg.createTag('team', 'app', '1.0', 'stable')
  assert.deepEqual(await reg.listTags('team/app'), ['1.0', '2.0', 'stable'])
  await rejectsWithCode(reg.createTag('team', 'app', '2.0', 'stable'), 'CONFLICT')
  await reg.deleteTag('team', 'app', one.digest, 'stable')
  const label = await reg.createLabel('prod', { color: '#00ff00' })
  assert.equal(label.scope, 'g')
  const local = await reg.createLabel('qa', { projectId: team.project_id })
  assert.deepEqual([local.scope, local.project_id], ['p', team.project_id])
  assert.deepEqual((await reg.labels()).items.map((l) => l.name), ['prod'])
  assert.deepEqual((await reg.labels(team.project_id)).items.map((l) => l.name), ['qa'])
  await reg.attachLabel('team', 'app', '1.0', label.id)
  assert.deepEqual((await reg.artifact('team', 'app', '1.0')).labels.map((l) => l.name), ['prod'])
  await reg.detachLabel('team', 'app', '1.0', label.id)
  await reg.deleteLabel(label.id)
  assert.equal((await reg.labels()).total, 0)
  await reg.close()
})
