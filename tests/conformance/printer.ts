// The acceptance suite every Printer implementation runs against itself, so a second
// implementation is proven by the same tests as the first (as automerge-repo's storage tests).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import sharp from 'sharp'
import type { Printer, PrintJob } from '../../lab-node/printers/printer.ts'
import { followJob } from '../../lab-node/printers/follow.ts'
import { PrinterJobNotFoundError, PrinterRejectedError, PrinterUnsupportedError } from '../../lab-node/printers/errors.ts'

export interface PrinterUnderTest {
  printer: Printer
  teardown(): Promise<void>
  /** Documents that reached the device, with the job name as it shows there. */
  listPrinted(): Promise<Array<{ name: string; bytes: Buffer }>>
}

interface Context { under?: PrinterUnderTest; setupError?: unknown }

/** Registers and runs the suite `Printer: <name>`; setup() is called once, teardown() at the end. */
export function runPrinterTests(name: string, setup: () => Promise<PrinterUnderTest>): void {
  const test = suite<Context>(`Printer: ${name}`, {})
  // uvu swallows an error thrown by a before hook (the suite just runs no test): keep it and
  // fail every test with it instead.
  test.before(async (ctx) => {
    try {
      ctx.under = await setup()
    } catch (error) {
      ctx.setupError = error
    }
  })
  test.before.each((ctx) => {
    if (ctx.setupError) throw ctx.setupError
  })
  test.after(async (ctx) => {
    await ctx.under?.teardown()
  })

  test('describe() says what the printer can print', async (ctx) => {
    const d = await ctx.under!.printer.describe()
    assert.ok(['idle', 'processing', 'stopped'].includes(d.state), `state ${d.state}`)
    assert.ok(Array.isArray(d.stateReasons) && !d.stateReasons.includes('none'))
    assert.ok(d.media.length > 0 && d.media.every((m) => typeof m === 'string' && m.length > 0), `media ${d.media}`)
    assert.ok(d.formats.includes('image/jpeg'), `formats ${d.formats}`)
    assert.ok(Number.isInteger(d.resolutionDpi) && d.resolutionDpi >= 72, `resolution ${d.resolutionDpi}`)
  })

  test('a submitted JPEG is followed to completed', async (ctx) => {
    const { printer } = ctx.under!
    const { jobId } = await printer.submit(await jobFor(printer, 'suite-follow', '#c03'))
    assert.type(jobId, 'string')
    const seen: string[] = []
    const end = await followJob(printer, jobId, { pollMs: 50, timeoutMs: 20_000, onState: (s) => seen.push(s.state) })
    assert.is(end.state, 'completed')
    assert.is(seen.at(-1), 'completed')
    assert.is((await printer.jobStatus(jobId)).state, 'completed')
  })

  test('the file that arrives is the JPEG that was sent', async (ctx) => {
    const { printer, listPrinted } = ctx.under!
    const job = await jobFor(printer, 'suite-arrives', '#0a6')
    const { jobId } = await printer.submit(job)
    await followJob(printer, jobId, { pollMs: 50, timeoutMs: 20_000 })
    const printed = (await listPrinted()).filter((p) => p.name === 'suite-arrives')
    assert.is(printed.length, 1, `printed: ${(await listPrinted()).map((p) => p.name)}`)
    assert.ok(printed[0].bytes.equals(job.document), 'the bytes that arrived differ from the JPEG sent')
  })

  test('findJobs finds a submitted job by its exact name, and no other', async (ctx) => {
    const { printer } = ctx.under!
    const { jobId } = await printer.submit(await jobFor(printer, 'suite-find-order-7-item-2', '#33f'))
    const found = await printer.findJobs('suite-find-order-7-item-2')
    assert.equal(found.map((j) => j.jobId), [jobId])
    assert.is(found[0].name, 'suite-find-order-7-item-2')
    assert.ok(['pending', 'processing', 'completed'].includes(found[0].state), `state ${found[0].state}`)
    assert.equal(await printer.findJobs('suite-find-order-7-item'), [])
    assert.equal(await printer.findJobs('suite-find-order-7-item-20'), [])
  })

  test('jobStatus of a job the printer never had is PrinterJobNotFoundError', async (ctx) => {
    const error = await rejection(ctx.under!.printer.jobStatus('987654'))
    assert.instance(error, PrinterJobNotFoundError)
    assert.instance(error, PrinterRejectedError)
    assert.match((error as Error).message, '987654')
  })

  test('a document format the printer does not take is PrinterUnsupportedError', async (ctx) => {
    const { printer } = ctx.under!
    const job = { ...(await jobFor(printer, 'suite-bad-format', '#fff')), format: 'application/x-labsync-unknown' }
    const error = await rejection(printer.submit(job))
    assert.instance(error, PrinterUnsupportedError)
    assert.equal(await printer.findJobs('suite-bad-format'), [])
  })

  test.run()
}

/** A small real JPEG, different per colour, on a photo media the printer lists. */
async function jobFor(printer: Printer, name: string, colour: string): Promise<PrintJob> {
  const { media } = await printer.describe()
  const document = await sharp({ create: { width: 120, height: 180, channels: 3, background: colour } }).jpeg({ quality: 80 }).toBuffer()
  return { name, document, format: 'image/jpeg', copies: 1, media: media.includes('oe_photo-l_3.5x5in') ? 'oe_photo-l_3.5x5in' : media[0] }
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  assert.unreachable('expected a rejection, but it resolved')
}
