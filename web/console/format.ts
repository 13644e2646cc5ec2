// Small display helpers shared by the console's components: times, printer names, states.

export function timeOf(iso: string, timeZone?: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ''
  return date.toLocaleString('en-GB', { timeZone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
}

/** A printer URI as staff call it: the queue's name for IPP, the folder's last part for file:. */
export function printerName(uri: string | null): string {
  if (!uri) return 'no printer with this media'
  if (uri.startsWith('file:')) return `folder ${uri.split('/').filter(Boolean).pop() ?? uri}`
  try {
    const url = new URL(uri)
    return `${url.hostname}${url.pathname}`
  } catch {
    return uri
  }
}

/** A PWG self-describing media name as staff read it: its size (`na_index-4x6_4x6in` → `4x6in`). */
export function mediaSize(media: string): string {
  return /_(\d+(?:\.\d+)?x\d+(?:\.\d+)?(?:in|mm))$/.exec(media)?.[1] ?? media
}

/** The order number, or its id when the number is not known yet. */
export const orderLabel = (order: { id: string; number: string | null }) => order.number ?? order.id
