// Renders the PWA icons in web/public/ from icon.svg with sharp. Run once when the icon changes:
//   node --import tsx web/scripts/make-icons.ts
// The PNGs are committed, so builds do not need this.
import sharp from 'sharp'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const publicDir = join(import.meta.dirname, '..', 'public')
const svg = readFileSync(join(publicDir, 'icon.svg'))

/** A maskable icon keeps its content inside the central 80 % safe zone, on a full-bleed background. */
function maskable(size: number): Promise<Buffer> {
  const inner = Math.round(size * 0.7)
  return sharp(svg, { density: 384 }).resize(inner, inner).png().toBuffer().then((icon) =>
    sharp({ create: { width: size, height: size, channels: 4, background: '#0b5c53' } })
      .composite([{ input: icon, gravity: 'centre' }]).png({ compressionLevel: 9 }).toBuffer())
}

const outputs: Array<[string, Promise<Buffer>]> = [
  ['icon-192.png', sharp(svg, { density: 384 }).resize(192, 192).png({ compressionLevel: 9 }).toBuffer()],
  ['icon-512.png', sharp(svg, { density: 384 }).resize(512, 512).png({ compressionLevel: 9 }).toBuffer()],
  ['maskable-512.png', maskable(512)],
  ['apple-touch-icon.png', sharp(svg, { density: 384 }).resize(180, 180).flatten({ background: '#0b5c53' }).png({ compressionLevel: 9 }).toBuffer()],
]
for (const [name, bytes] of outputs) {
  await sharp(await bytes).toFile(join(publicDir, name))
  console.log(`wrote web/public/${name}`)
}
