// The media an operator states a printer holds: `--printer URI#media=M1,M2`. A raw queue that
// lists no paper sizes gets nothing until its media is stated; a printer that lists sizes it has
// no paper for is told what is loaded. The statement replaces what the printer lists.
import * as media from '../../shared/media.ts'
import { ConfigError } from '../../shared/errors.ts'
import type { Printer, PrinterDescription } from './printer.ts'

/** A --printer value split into the printer's URI and the media stated for it (null: none stated). */
export interface PrinterArg { uri: string; statedMedia: string[] | null }

const SUFFIX = /#media=([^#]*)$/

/** Splits `URI#media=M1,M2`; each M must be a PWG 5101.1 self-describing name. Throws ConfigError. */
export function parsePrinterArg(value: string): PrinterArg {
  const match = SUFFIX.exec(value)
  if (!match) {
    if (value.includes('#')) throw new ConfigError(`lab: --printer "${value}": the only suffix is #media=M1,M2 (PWG media names)`)
    return { uri: value, statedMedia: null }
  }
  const names = match[1].split(',').map((name) => name.trim()).filter(Boolean)
  if (names.length === 0) throw new ConfigError(`lab: --printer "${value}": #media= names no media`)
  for (const name of names) {
    if (!media.isSelfDescribing(name)) throw new ConfigError(`lab: --printer "${value}": "${name}" is not a PWG 5101.1 media name such as na_index-4x6_4x6in`)
  }
  return { uri: value.slice(0, match.index), statedMedia: [...new Set(names)] }
}

/**
 * The printer as the lab sees it once its media are stated: describe() reports those media. A
 * job on a stated media the printer does not list itself goes without a media attribute (a raw
 * queue refuses, or ignores, a media it does not know; it prints on what is loaded).
 */
export function withStatedMedia(printer: Printer, statedMedia: readonly string[]): Printer {
  const stated = [...statedMedia]
  let listed: string[] | null = null
  const describe = async (): Promise<PrinterDescription> => {
    const description = await printer.describe()
    listed = description.media
    return { ...description, media: [...stated] }
  }
  return {
    get uri() { return printer.uri },
    describe,
    submit: async (job) => {
      if (listed === null) await describe()
      return printer.submit(listed!.includes(job.media) ? job : { ...job, sendMedia: false })
    },
    jobStatus: (jobId) => printer.jobStatus(jobId),
    findJobs: (name) => printer.findJobs(name),
    close: () => printer.close(),
  }
}
