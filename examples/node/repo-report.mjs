#!/usr/bin/env node
// List the repositories of a Berth registry with their tag counts and sizes.
//
//   node examples/node/repo-report.mjs [DATA_DIR]
//
// With DATA_DIR, reports on the registry stored there. Without, it serves a throw-away registry
// on a free loopback port, creates a project and pushes a few demo images into it, and reports on
// that (also reading the catalog over HTTP as the admin, as any OCI client would). Size = manifest + config + layers of every
// tag, each blob counted once per repository.
//
// Build the module first: cd registry-node && npm install && npm run build
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const berth = createRequire(import.meta.url)(join(here, '..', '..', 'registry-node'))

function human(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i ? n.toFixed(1) : n} ${units[i]}`
}

async function repositorySummary(reg, repo) {
  const tags = await reg.listTags(repo)
  const blobs = new Map()
  for (const tag of tags) {
    const m = await reg.getManifest(repo, tag)
    blobs.set(m.digest, m.content.length)
    const doc = JSON.parse(m.content)
    for (const d of [doc.config, ...(doc.layers ?? []), ...(doc.manifests ?? [])].filter(Boolean)) {
      blobs.set(d.digest, d.size)
    }
  }
  let size = 0
  for (const s of blobs.values()) size += s
  return { repo, tags: tags.length, size }
}

async function seed(reg) {
  // `library` (public) exists after serve(); other projects are created before pushing.
  await reg.createProject('team')
  await reg.pushImage('library/alpine:3.20', { layers: [Buffer.alloc(3_400_000, 1)], config: { os: 'linux', architecture: 'amd64' } })
  await reg.pushImage('library/alpine:3.21', { layers: [Buffer.alloc(3_500_000, 2)], config: { os: 'linux', architecture: 'amd64' } })
  await reg.pushImage('team/app:1.0', { layers: [Buffer.alloc(10_000, 3), Buffer.alloc(250_000, 4)], config: { os: 'linux' } })
  await reg.pushImage('team/app:1.1', { layers: [Buffer.alloc(10_000, 3), Buffer.alloc(260_000, 5)], config: { os: 'linux' } })
  await reg.pushImage('team/app:latest', { layers: [Buffer.alloc(10_000, 3), Buffer.alloc(260_000, 5)], config: { os: 'linux' } })
  await reg.pushImage('team/docs:v1', { layers: [Buffer.from('# readme')], artifactType: 'text/markdown' })
}

async function main() {
  const dataDir = process.argv[2]
  const reg = dataDir ? await berth.open({ uri: dataDir }) : await berth.serve()
  try {
    if (!dataDir) {
      await seed(reg)
      const auth = 'Basic ' + Buffer.from(`${reg.adminUsername}:${reg.adminPassword}`).toString('base64')
      const res = await fetch(`${reg.url}/v2/_catalog`, { headers: { authorization: auth } })
      console.log(`serving a demo registry at ${reg.url}; catalog over HTTP: ${JSON.stringify((await res.json()).repositories)}`)
    }
    const rows = []
    for (const repo of await reg.catalog()) rows.push(await repositorySummary(reg, repo))
    const width = Math.max(10, ...rows.map((r) => r.repo.length))
    console.log(`${'REPOSITORY'.padEnd(width)}  TAGS  SIZE`)
    for (const r of rows) console.log(`${r.repo.padEnd(width)}  ${String(r.tags).padStart(4)}  ${human(r.size)}`)
    const total = rows.reduce((a, r) => a + r.size, 0)
    console.log(`${rows.length} repositories, ${rows.reduce((a, r) => a + r.tags, 0)} tags, ${human(total)}`)
    if (!dataDir && (rows.length !== 3 || rows.find((r) => r.repo === 'team/app')?.tags !== 3)) {
      throw new Error('demo registry does not report what was pushed')
    }
  } finally {
    await reg.close()
  }
}

main().catch((e) => {
  console.error(`repo-report: ${e.code ?? 'ERROR'}: ${e.message}`)
  process.exit(1)
})
