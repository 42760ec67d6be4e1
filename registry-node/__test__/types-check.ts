// Type-checked (npm run typecheck), not run: the generated index.d.ts describes the API.
import * as berth from '../index.js'

export async function demo(): Promise<string[]> {
  const reg: berth.Registry = await berth.serve({ adminPassword: 'Change-Me-1' })
  const url: string | null = reg.url
  const admin: [string | null, string | null] = [reg.adminUsername, reg.adminPassword]
  const team: berth.Project = await reg.createProject('team', { public: false, metadata: { auto_scan: 'true' } })
  const pushed: berth.PushedImage = await reg.pushImage('team/app:1.0', {
    layers: [Buffer.from('x'), new Uint8Array([1]), '/path/to/layer.tar'],
    config: { os: 'linux' },
    annotations: { a: 'b' },
  })
  const img: berth.PulledImage = await reg.pullImage(pushed.reference)
  const first: Buffer = img.layers[0].data
  const size: number = await reg.statBlob('team/app', pushed.layers[0])
  const gc: berth.GcReport = await reg.gc({ dryRun: true, deleteUntagged: false, workers: 2, graceSeconds: 60 })
  const quota: berth.Quota = await reg.quota('team')
  const rid: number = await reg.createRetention({ rules: [], scope: { level: 'project', ref: team.project_id } })
  const preview: berth.RetentionPreview[] = await reg.retentionDryRun(rid)
  await reg.setStorageLimit('team', quota.hard.storage + gc.freed_space)
  const log: berth.Paged<berth.AuditLog> = await reg.auditLogs({ q: 'operation=create' })
  const ran: number = await reg.runJobs()
  await reg.setReadOnly((await reg.readOnly()) && ran > log.total + preview.length)
  const user: berth.User = await reg.createUser('dev', 'Dev-Pass-1', { email: 'dev@example.com' })
  const memberId: number = await reg.addMember(team.project_id, { username: user.username, role: 'developer' })
  const members: berth.Paged<berth.Member> = await reg.members('team', { q: 'entityname=~dev', pageSize: 5 })
  const robot: berth.RobotCreated = await reg.createRobot('ci', { project: 'team', access: [{ resource: 'repository', action: 'push' }] })
  const who: berth.Who = await reg.login(robot.name, robot.secret)
  const artifacts: berth.Artifact[] = (await reg.artifacts('team', 'app', { q: 'tags=*' })).items
  const generated: string | null = await reg.bootstrap()
  const ep: berth.RegistryEndpoint = await reg.createRegistry('up', 'http://127.0.0.1:5000', { type: 'docker-registry', insecure: false })
  const policy: berth.ReplicationPolicy = await reg.createReplicationPolicy({ name: 'p', dest_registry: { id: ep.id } })
  const run: berth.ReplicationExecution = await reg.replicationExecution(await reg.startReplication(policy.id))
  const copy: berth.CopyReport = await reg.replicate('http://127.0.0.1:5000/lib/app', 'team/app', { tags: ['v1'], push: false })
  const proxy: berth.Project = await reg.createProxyProject('hub', ep.id)
  void [run.status, copy.copied, proxy.registry_id]
  void [url, admin, first, size, memberId, members.total, who.kind, artifacts[0].tags, generated]
  const tags = await reg.listTags('team/app', { n: 10 })
  await reg.close()
  return tags
}
