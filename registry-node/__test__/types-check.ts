// Type-checked (npm run typecheck), not run: the generated index.d.ts describes the API.
import * as berth from '../index.js'

export async function demo(): Promise<string[]> {
  const reg: berth.Registry = await berth.serve()
  const url: string | null = reg.url
  const pushed: berth.PushedImage = await reg.pushImage('team/app:1.0', {
    layers: [Buffer.from('x'), new Uint8Array([1]), '/path/to/layer.tar'],
    config: { os: 'linux' },
    annotations: { a: 'b' },
  })
  const img: berth.PulledImage = await reg.pullImage(pushed.reference)
  const first: Buffer = img.layers[0].data
  const size: number = await reg.statBlob('team/app', pushed.layers[0])
  void [url, first, size]
  const tags = await reg.listTags('team/app', { n: 10 })
  await reg.close()
  return tags
}
