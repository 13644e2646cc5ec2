// Opens the printer a --printer URI names: `ipp://` / `ipps://` an IPP printer, `file:DIR` a folder;
// a `#media=M1,M2` suffix states the media it holds (stated-media.ts).
import type { Printer } from './printer.ts'
import { IppPrinter } from './ipp.ts'
import { FilePrinter } from './file.ts'
import { parsePrinterArg, withStatedMedia } from './stated-media.ts'

export interface OpenPrinterOptions {
  /** Per-request timeout for network printers; default 10 s. */
  timeoutMs?: number
  /** `requesting-user-name` sent to network printers; default `labsync`. */
  userName?: string
}

/** `ipp://` / `ipps://` → IppPrinter, `file:DIR` → FilePrinter, each `#media=…` applied; anything else throws. */
export function openPrinter(value: string, options: OpenPrinterOptions = {}): Printer {
  const { uri, statedMedia } = parsePrinterArg(value)
  const printer = openUri(uri, options)
  return statedMedia ? withStatedMedia(printer, statedMedia) : printer
}

function openUri(uri: string, options: OpenPrinterOptions): Printer {
  if (/^ipps?:\/\//i.test(uri)) return new IppPrinter(uri, options)
  if (/^file:/i.test(uri)) return new FilePrinter(FilePrinter.dirFromUri(uri))
  throw new Error(`unsupported printer URI "${uri}": expected ipp://HOST[:PORT]/PATH, ipps://… or file:DIR`)
}
