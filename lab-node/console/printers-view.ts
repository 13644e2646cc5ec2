// The printers as the console shows them: state, reasons and media, each asked afresh (bounded
// in time: a printer that does not answer is shown as unreachable, it does not stall the page).
import type { Printer } from '../printers/printer.ts'
import type { PrinterView } from '../../shared/console-wire.ts'

const DESCRIBE_TIMEOUT_MS = 3_000

export async function describePrinters(printers: Printer[]): Promise<PrinterView[]> {
  return Promise.all(printers.map(async (printer): Promise<PrinterView> => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${DESCRIBE_TIMEOUT_MS / 1000} s`)), DESCRIBE_TIMEOUT_MS) })
    try {
      const d = await Promise.race([printer.describe(), timeout])
      return { uri: printer.uri, state: d.state, stateReasons: d.stateReasons, media: d.media, error: null }
    } catch (error) {
      return { uri: printer.uri, state: 'unreachable', stateReasons: [], media: [], error: (error as Error).message }
    } finally {
      clearTimeout(timer)
    }
  }))
}

/** The first printer holding `media` (as the lab sends an item to one whose media fits); null when none does. */
export function printerForMedia(printers: PrinterView[]): (media: string | null) => string | null {
  return (media) => (media ? printers.find((p) => p.media.includes(media))?.uri ?? null : null)
}
