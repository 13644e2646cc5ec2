// IppPrinter against a real IPP printer (CUPS's ippeveprinter) on 127.0.0.1: the Printer
// acceptance suite, copies and media on the wire, aborted jobs, a printer that dies and comes
// back, and servers that answer garbage or nothing.
import http from 'node:http'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import sharp from 'sharp'
import ipp from '@sealsystems/ipp'
import type { IppGroup } from '@sealsystems/ipp'
import { IppPrinter } from '../../lab-node/printers/ipp.ts'
import { followJob, withRetry } from '../../lab-node/printers/follow.ts'
import {
  JobFollowTimeoutError, PrinterProtocolError, PrinterRejectedError, PrinterUnreachableError, PrinterUnsupportedError, RetriesExhaustedError,
} from '../../lab-node/printers/errors.ts'
import type { PrintJob } from '../../lab-node/printers/printer.ts'
import { startIppPrinter } from '../helpers/ippeveprinter.ts'
import type { IppPrinterProcess } from '../helpers/ippeveprinter.ts'
import { rejection, runPrinterTests } from '../conformance/printer.ts'

runPrinterTests('ipp (ippeveprinter -c /bin/true)', async () => {
  const device = await startIppPrinter({ command: '/bin/true' })
  const printer = new IppPrinter(device.uri, { timeoutMs: 5000 })
  return {
    printer,
    teardown: async () => {
      await printer.close()
      await device.stop()
    },
    listPrinted: () => listSpool(device),
  }
})

// Made in a before hook: a top-level await would let uvu start running before every suite is queued.
let JPEG: Buffer
const job = (name: string, more: Partial<PrintJob> = {}): PrintJob =>
  ({ name, document: JPEG, format: 'image/jpeg', copies: 1, media: 'oe_photo-l_3.5x5in', ...more })

const test = suite('IppPrinter')
test.before(async () => {
  JPEG = await sharp({ create: { width: 60, height: 90, channels: 3, background: '#246' } }).jpeg().toBuffer()
})

test('copies and media reach the printer', async () => {
  await withDevice({ command: '/bin/true' }, async (device, printer) => {
    // oe_photo-l is not in the library's keyword table, so it goes out as a name: both must work.
    for (const [name, copies, media] of [['order-9-item-1', 3, 'oe_photo-l_3.5x5in'], ['order-9-item-2', 2, 'na_index-4x6_4x6in']] as const) {
      const { jobId } = await printer.submit(job(name, { copies, media }))
      assert.is((await followJob(printer, jobId, { pollMs: 50, timeoutMs: 10_000 })).state, 'completed')
      const attrs = await jobAttributes(device.uri, Number(jobId))
      assert.is(attrs.copies, copies)
      assert.is(attrs.media, media)
      assert.is(attrs['job-name'], name)
      assert.ok((await readdir(device.spoolDir)).includes(`${jobId}-${name}.jpg`))
    }
  })
})

test('a media the printer does not offer is PrinterUnsupportedError naming it, and is not retried', async () => {
  await withDevice({ command: '/bin/true' }, async (_device, printer) => {
    let attempts = 0
    const error = await rejection(withRetry(() => (attempts++, printer.submit(job('order-9-item-3', { media: 'iso_a0_841x1189mm' }))), { baseMs: 1 }))
    assert.instance(error, PrinterUnsupportedError)
    assert.is((error as PrinterRejectedError).status, 'client-error-attributes-or-values-not-supported')
    assert.match((error as Error).message, 'iso_a0_841x1189mm')
    assert.is(attempts, 1)
  })
})

test('a printer whose command fails ends the job aborted, and followJob reports it', async () => {
  await withDevice({ command: '/bin/false' }, async (_device, printer) => {
    const { jobId } = await printer.submit(job('order-9-item-4'))
    const seen: string[] = []
    const end = await followJob(printer, jobId, { pollMs: 50, timeoutMs: 10_000, onState: (s) => seen.push(s.state) })
    assert.is(end.state, 'aborted')
    assert.is(seen.at(-1), 'aborted')
    assert.equal((await printer.findJobs('order-9-item-4')).map((j) => j.state), ['aborted'])
  })
})

test('a killed printer is PrinterUnreachableError; withRetry gets through once it is back on the same port', async () => {
  const first = await startIppPrinter({ command: '/bin/true' })
  let second: IppPrinterProcess | undefined
  const printer = new IppPrinter(first.uri, { timeoutMs: 2000 })
  try {
    first.kill()
    await first.exited
    const error = await rejection(printer.describe())
    assert.instance(error, PrinterUnreachableError)
    assert.is((error as PrinterUnreachableError).code, 'ECONNREFUSED')

    const retries: number[] = []
    // Reconcile before sending, as the lab node must: a failed submit may have printed.
    const sent = await withRetry(async () => (await printer.findJobs('order-9-item-5'))[0] ?? printer.submit(job('order-9-item-5')), {
      attempts: 4, baseMs: 20, random: () => 0.5,
      onRetry: async ({ attempt, error }) => {
        assert.instance(error, PrinterUnreachableError)
        retries.push(attempt)
        if (attempt === 1) second = await startIppPrinter({ command: '/bin/true', port: first.port })
      },
    })
    assert.equal(retries, [1])
    assert.is((await followJob(printer, sent.jobId, { pollMs: 50, timeoutMs: 10_000 })).state, 'completed')
    assert.ok((await readdir(second!.spoolDir)).includes(`${sent.jobId}-order-9-item-5.jpg`))
  } finally {
    await printer.close()
    await second?.stop()
    await first.stop()
  }
})

test('withRetry gives up on a printer that stays down, saying how often and why', async () => {
  const gone = await startIppPrinter({ command: '/bin/true' })
  gone.kill()
  await gone.exited
  const printer = new IppPrinter(gone.uri, { timeoutMs: 2000 })
  try {
    const error = await rejection(withRetry(() => printer.describe(), { attempts: 3, baseMs: 5 }))
    assert.instance(error, RetriesExhaustedError)
    assert.match((error as Error).message, /^gave up after 3 attempts: PrinterUnreachableError: .*ECONNREFUSED/)
    assert.instance((error as Error).cause, PrinterUnreachableError)
  } finally {
    await printer.close()
    await gone.stop()
  }
})

test('followJob gives up on a job still printing after its timeout, and stops when its signal aborts', async () => {
  // Without -c, ippeveprinter "prints" each job for 5 to 15 s.
  await withDevice({}, async (_device, printer) => {
    const { jobId } = await printer.submit(job('order-9-item-6'))
    const error = await rejection(followJob(printer, jobId, { pollMs: 50, timeoutMs: 300 }))
    assert.instance(error, JobFollowTimeoutError)
    assert.ok(['pending', 'processing'].includes((error as JobFollowTimeoutError).lastState!), (error as Error).message)
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('operator stopped the lab node')), 200)
    assert.match(String(await rejection(followJob(printer, jobId, { pollMs: 50, timeoutMs: 10_000, signal: controller.signal }))), 'operator stopped')
  })
})

/** How a fake printer on 127.0.0.1 misbehaves once a request has arrived. */
const FAULTS: Record<string, { answer: (socket: Socket) => void; error: Function; message: RegExp }> = {
  'garbage instead of HTTP': {
    answer: (s) => s.end('this is not HTTP at all\r\n\r\n'), error: PrinterProtocolError, message: /not an IPP reply/,
  },
  'HTTP 200 with a truncated IPP body': {
    answer: (s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 5\r\n\r\n\x02\x00\x00\x00\x01'),
    error: PrinterProtocolError, message: /truncated or garbled/,
  },
  'HTTP 404': {
    answer: (s) => s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), error: PrinterProtocolError, message: /404/,
  },
  'nothing at all': { answer: () => {}, error: PrinterUnreachableError, message: /within 500 ms/ },
  'headers, then silence': {
    answer: (s) => s.write('HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 400\r\n\r\n\x02\x00'),
    error: PrinterUnreachableError, message: /within 500 ms/,
  },
  'headers, then the connection drops': {
    answer: (s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 400\r\n\r\n\x02\x00'),
    error: PrinterUnreachableError, message: /within 500 ms/,
  },
  'a closed connection': { answer: (s) => s.destroy(), error: PrinterUnreachableError, message: /ECONNRESET/ },
}

for (const [fault, { answer, error: expected, message }] of Object.entries(FAULTS)) {
  test(`a server that answers ${fault} gives a clear error within the timeout`, async () => {
    await withFakeServer(answer, async (uri) => {
      const printer = new IppPrinter(uri, { timeoutMs: 500 })
      const started = Date.now()
      const error = await rejection(printer.describe())
      const took = Date.now() - started
      await printer.close()
      assert.instance(error, expected)
      assert.match((error as Error).message, message)
      assert.match((error as Error).message, uri)
      assert.ok(took < 1500, `took ${took} ms`)
    })
  })
}

test('close() ends a request that is waiting for an answer', async () => {
  await withFakeServer(() => {}, async (uri) => {
    const printer = new IppPrinter(uri, { timeoutMs: 60_000 })
    const pending = rejection(printer.describe())
    await new Promise((resolve) => setTimeout(resolve, 100))
    await printer.close()
    assert.match(String(await pending), /closed/)
    assert.match(String(await rejection(printer.describe())), /closed/)
  })
})

test.run()

async function withDevice(options: Parameters<typeof startIppPrinter>[0], body: (device: IppPrinterProcess, printer: IppPrinter) => Promise<void>): Promise<void> {
  const device = await startIppPrinter(options)
  const printer = new IppPrinter(device.uri, { timeoutMs: 5000 })
  try {
    await body(device, printer)
  } finally {
    await printer.close()
    await device.stop()
  }
}

/** A TCP server on 127.0.0.1 that reads a request's first bytes, then misbehaves. */
async function withFakeServer(answer: (socket: Socket) => void, body: (uri: string) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => answer(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  try {
    await body(`ipp://127.0.0.1:${port}/ipp/print`)
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
}

/** The documents ippeveprinter kept (-k): `<job-id>-<job-name>.jpg`. */
async function listSpool(device: IppPrinterProcess): Promise<Array<{ name: string; bytes: Buffer }>> {
  const names = (await readdir(device.spoolDir)).filter((n) => n.endsWith('.jpg'))
  return Promise.all(names.map(async (n) => ({ name: n.replace(/^\d+-/, '').replace(/\.jpg$/, ''), bytes: await readFile(join(device.spoolDir, n)) })))
}

/** Get-Job-Attributes straight through the library: what the printer recorded for the job. */
function jobAttributes(uri: string, jobId: number): Promise<IppGroup> {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: false })
    const timer = setTimeout(() => (agent.destroy(), reject(new Error('Get-Job-Attributes timed out'))), 5000)
    ipp.Printer(uri, { agent }).execute('Get-Job-Attributes', { 'operation-attributes-tag': { 'job-id': jobId } }, (error, reply) => {
      clearTimeout(timer)
      agent.destroy()
      if (error) reject(error)
      else if (reply.statusCode !== 'successful-ok') reject(new Error(String(reply.statusCode)))
      else resolve(reply['job-attributes-tag'] as IppGroup)
    })
  })
}
