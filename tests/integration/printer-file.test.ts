// The FilePrinter (file:DIR) passes the Printer acceptance suite in a fresh temp folder and keeps
// its sidecars and ids across restarts; openPrinter() picks implementations by URI; withRetry's
// rules that need no network.
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import sharp from 'sharp'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { IppPrinter } from '../../lab-node/printers/ipp.ts'
import { openPrinter } from '../../lab-node/printers/open.ts'
import type { Printer } from '../../lab-node/printers/printer.ts'
import { describeRunning, withRetry } from '../../lab-node/printers/follow.ts'
import { PrinterStoppedError } from '../../lab-node/printers/errors.ts'
import { rejection, runPrinterTests } from '../conformance/printer.ts'

// Made in a before hook: a top-level await would let uvu start running before every suite is queued.
let JPEG: Buffer

runPrinterTests('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labsync-file-printer-'))
  const printer = new FilePrinter(dir)
  return {
    printer,
    teardown: async () => {
      await printer.close()
      await rm(dir, { recursive: true, force: true })
    },
    listPrinted: async () => {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.jpg'))
      return Promise.all(names.map(async (n) => ({ name: n.replace(/^\d+-/, '').replace(/\.jpg$/, ''), bytes: await readFile(join(dir, n)) })))
    },
  }
})

const test = suite('FilePrinter')
test.before(async () => {
  JPEG = await sharp({ create: { width: 40, height: 60, channels: 3, background: '#888' } }).jpeg().toBuffer()
})

test('copies and media are recorded in a sidecar next to the JPEG', async () => {
  await inTempDir(async (dir) => {
    const printer = new FilePrinter(dir, { now: () => new Date('2025-03-01T10:00:00Z') })
    const { jobId } = await printer.submit({ name: 'order-1/item 2', document: JPEG, format: 'image/jpeg', copies: 3, media: 'oe_photo-l_3.5x5in' })
    assert.equal((await readdir(dir)).sort(), [`${jobId}-order-1_item_2.jpg`, `${jobId}-order-1_item_2.json`])
    const sidecar = JSON.parse(await readFile(join(dir, `${jobId}-order-1_item_2.json`), 'utf8'))
    assert.equal(sidecar, { jobId, name: 'order-1/item 2', copies: 3, media: 'oe_photo-l_3.5x5in', format: 'image/jpeg', submittedAt: '2025-03-01T10:00:00.000Z' })
    assert.equal((await printer.findJobs('order-1/item 2')).map((j) => j.jobId), [jobId])
    await printer.close()
  })
})

test('a restarted FilePrinter finds the jobs of the one before and never reuses their ids', async () => {
  await inTempDir(async (dir) => {
    const first = new FilePrinter(dir)
    const a = await first.submit({ name: 'a', document: JPEG, format: 'image/jpeg', copies: 1, media: 'x' })
    const b = await first.submit({ name: 'b', document: JPEG, format: 'image/jpeg', copies: 1, media: 'x' })
    await first.close()
    const second = new FilePrinter(dir)
    assert.equal(await second.findJobs('b'), [{ jobId: b.jobId, name: 'b', state: 'completed', reasons: [] }])
    const c = await second.submit({ name: 'c', document: JPEG, format: 'image/jpeg', copies: 1, media: 'x' })
    assert.equal([a.jobId, b.jobId, c.jobId], ['1', '2', '3'])
    await second.close()
  })
})

test('concurrent submits get distinct ids and leave no temp files', async () => {
  await inTempDir(async (dir) => {
    const printer = new FilePrinter(dir)
    const ids = await Promise.all(['p', 'q', 'r', 's'].map((name) => printer.submit({ name, document: JPEG, format: 'image/jpeg', copies: 1, media: 'x' })))
    assert.is(new Set(ids.map((j) => j.jobId)).size, 4)
    assert.equal((await readdir(dir)).filter((n) => n.startsWith('.')), [])
    await printer.close()
  })
})

test('a sidecar without its JPEG (a crash between the two writes) reads aborted', async () => {
  await inTempDir(async (dir) => {
    const printer = new FilePrinter(dir)
    const { jobId } = await printer.submit({ name: 'torn', document: JPEG, format: 'image/jpeg', copies: 1, media: 'x' })
    await rm(join(dir, `${jobId}-torn.jpg`))
    assert.equal(await printer.jobStatus(jobId), { state: 'aborted', reasons: ['document-missing'] })
    await printer.close()
  })
})

test('a JPEG that cannot be written leaves no sidecar: no job, so the item is sent again', async () => {
  await inTempDir(async (dir) => {
    const printer = new FilePrinter(dir)
    await mkdir(join(dir, '1-blocked.jpg', 'in-the-way'), { recursive: true }) // the rename onto it fails
    await rejection(printer.submit({ name: 'blocked', document: JPEG, format: 'image/jpeg', copies: 1, media: 'x' }))
    assert.equal(await printer.findJobs('blocked'), [])
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.json')), [])
    await printer.close()
  })
})

test('openPrinter picks the implementation from the URI and names a URI it cannot use', async () => {
  const file = openPrinter('file:///tmp/labsync-prints')
  assert.instance(file, FilePrinter)
  assert.is((file as FilePrinter).dir, '/tmp/labsync-prints')
  assert.is((openPrinter('file:relative/prints') as FilePrinter).dir, join(process.cwd(), 'relative/prints'))
  assert.instance(openPrinter('ipp://127.0.0.1:631/ipp/print'), IppPrinter)
  assert.instance(openPrinter('ipps://printer.local/ipp/print'), IppPrinter)
  assert.throws(() => openPrinter('lpd://printer/queue'), /lpd:\/\/printer\/queue/)
  assert.throws(() => openPrinter('file:'), /names no folder/)
})

test.run()

const retry = suite('withRetry')
retry('waits out a stopped printer, with pauses that double between base and max', async () => {
  let asked = 0
  // Out of paper for its first two answers (ippeveprinter cannot be paused over IPP).
  const printer = {
    uri: 'stub:out-of-paper',
    describe: async () => {
      const stopped = ++asked <= 2
      return { state: stopped ? 'stopped' : 'idle', stateReasons: stopped ? ['media-empty-error'] : [], media: ['x'], formats: ['image/jpeg'], resolutionDpi: 300 }
    },
  } as unknown as Printer
  const pauses: number[] = []
  const d = await withRetry(() => describeRunning(printer), {
    baseMs: 10, maxMs: 15, random: () => 0, onRetry: ({ delayMs, error }) => {
      assert.instance(error, PrinterStoppedError)
      assert.match((error as Error).message, 'media-empty-error')
      pauses.push(delayMs)
    },
  })
  assert.is(d.state, 'idle')
  assert.equal(pauses, [5, 8])
})

retry('throws anything but an unreachable or stopped printer at once', async () => {
  let calls = 0
  const error = await rejection(withRetry(async () => { calls++; throw new TypeError('a bug') }, { baseMs: 1 }))
  assert.instance(error, TypeError)
  assert.is(calls, 1)
})

retry.run()

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'labsync-file-printer-'))
  try {
    await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
