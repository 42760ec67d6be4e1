// Signing through the binding: in-process cosign-style signatures, accessories, trusted keys.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rejectsWithCode } from './helpers.mjs'
import { createRequire } from 'node:module'

const berth = createRequire(import.meta.url)('..')


test('sign: the signature is the image accessory and verifies with a trusted key', async () => {
  const reg = await berth.open()
  await reg.createProject('sig')
  const image = await reg.pushImage('sig/app:v1', { layers: [Buffer.from('layer')] })
  const { privateKey, publicKey } = berth.generateSigningKey()
  assert.match(privateKey, /BEGIN PRIVATE KEY/)
  const sig = await reg.sign('sig/app:v1', privateKey)
  assert.notEqual(sig, image.digest)

  const arts = await reg.artifacts('sig', 'app')
  assert.equal(arts.total, 1, 'the signature is not an artifact of its own')
  const [acc] = arts.items[0].accessories
  assert.deepEqual([acc.type, acc.digest, acc.subject_artifact_digest, acc.verification], ['signature.cosign', sig, image.digest, null])
  assert.equal((await reg.accessories('sig', 'app', 'v1', { q: 'type=signature.cosign' })).total, 1)
  assert.equal((await reg.accessories('sig', 'app', 'v1', { q: 'type=sbom.harbor' })).total, 0)
  await rejectsWithCode(reg.accessories('sig', 'app', 'v1', { q: 'type=bogus' }), 'BAD_REQUEST', /unknown accessory type/)

  const key = await reg.addTrustKey('sig', 'release', publicKey)
  assert.deepEqual([key.kind, key.algorithm], ['cosign', 'ecdsa-p256'])
  assert.deepEqual((await reg.trustKeys('sig')).map((k) => k.id), [key.id])
  assert.equal((await reg.artifact('sig', 'app', 'v1')).accessories[0].verification, 'verified')
  await rejectsWithCode(reg.addTrustKey('sig', 'again', publicKey), 'CONFLICT')
  await rejectsWithCode(reg.addTrustKey('sig', 'oops', privateKey), 'BAD_REQUEST', /PUBLIC KEY/)
  await rejectsWithCode(reg.sign('sig/app:v1', publicKey), 'BAD_REQUEST', /PRIVATE KEY/)
  await reg.deleteTrustKey('sig', key.id)
  assert.deepEqual(await reg.trustKeys('sig'), [])

  await reg.deleteManifest('sig/app', image.digest)
  await rejectsWithCode(reg.getManifest('sig/app', sig), 'MANIFEST_UNKNOWN')
  await reg.close()
})

// One file of a tar archive (ustar header + content, padded), uncompressed.
function file(name, data) {
  const h = Buffer.alloc(512)
  h.write(name, 0)
  h.write('0000644\0', 100)
  h.write('0000000\0', 108)
  h.write('0000000\0', 116)
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124)
  h.write('00000000000\0', 136)
  h.write('        ', 148)
  h.write('0', 156)
  h.write('ustar\0', 257)
  h.write('00', 263)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([h, data, pad])
}

test('sbom: built from the layers, stored as the image accessory', async () => {
  const reg = await berth.open()
  await reg.createProject('scan')
  const status = Buffer.from('Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n')
  const layer = Buffer.concat([file('var/lib/dpkg/status', status), Buffer.alloc(1024)])
  const image = await reg.pushImage('scan/deb:12', { layers: [layer] })
  const sbom = await reg.sbom('scan/deb:12')
  assert.equal(sbom.subject, image.digest)
  assert.deepEqual(sbom.packages.map((p) => [p.name, p.version]), [['libc6', '2.36-9']])
  assert.equal(sbom.spdx.spdxVersion, 'SPDX-2.3')
  const [acc] = (await reg.artifact('scan', 'deb', '12')).accessories
  assert.deepEqual([acc.type, acc.digest], ['sbom.harbor', sbom.digest])
  await reg.close()
})

test('scan: an imported OSV database matched in dpkg order; the report and the overview', async () => {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const path = await import('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-osv-'))
  const osv = (id, pkg, fixed) => ({
    id,
    modified: '2024-05-01T00:00:00Z',
    aliases: [id.replace('DEBIAN-', '')],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'Debian:12', name: pkg }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
  })
  // u10 comes after u3 in dpkg's order (not in a string's).
  fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(osv('DEBIAN-CVE-2023-4911', 'glibc', '2.36-9+deb12u10')))
  fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(osv('DEBIAN-CVE-2022-3715', 'bash', '5.1-1')))
  const reg = await berth.open()
  await reg.createProject('scan')
  const status = Buffer.from(
    'Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u3\n\n' +
      'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b8\n\n',
  )
  const osRelease = Buffer.from('ID=debian\nVERSION_ID="12"\n')
  const layer = Buffer.concat([file('etc/os-release', osRelease), file('var/lib/dpkg/status', status), Buffer.alloc(1024)])
  const image = await reg.pushImage('scan/deb:12', { layers: [layer] })
  assert.equal(await reg.vulnerabilities('scan/deb:12'), null)
  const stats = await reg.importVulndb(dir)
  assert.deepEqual([stats.advisories, stats.rows, stats.total_advisories], [2, 2, 2])
  const result = await reg.scan('scan/deb:12')
  assert.equal(result.digest, image.digest)
  assert.deepEqual(
    result.report.vulnerabilities.map((v) => [v.id, v.package, v.severity, v.fix_version]),
    [['DEBIAN-CVE-2023-4911', 'libc6', 'High', '2.36-9+deb12u10']],
  )
  assert.deepEqual([result.overview.scan_status, result.overview.severity, result.overview.summary.total], ['Success', 'High', 1])
  assert.equal((await reg.vulnerabilities('scan/deb:12')).vulnerabilities.length, 1)
  await assert.rejects(reg.importVulndb(path.join(dir, 'missing')), (e) => e.code === 'BAD_REQUEST')
  await reg.close()
  fs.rmSync(dir, { recursive: true })
})
