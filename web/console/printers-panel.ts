// Each printer's state, its reasons (out of paper, door open…) and the media it holds.
import { LitElement, css, html, nothing } from 'lit'
import type { PrinterView } from '../../shared/console-wire.ts'
import { mediaSize, printerName } from './format.ts'

export class ConsolePrinters extends LitElement {
  static override properties = { printers: { attribute: false } }
  declare printers: PrinterView[]

  static override styles = css`
    :host { display: grid; gap: 10px; }
    article { background: #fff; border: 1px solid #d9dedc; border-radius: 10px; padding: 10px 12px; }
    h3 { margin: 0 0 4px; font-size: 1rem; }
    .state { font-weight: 700; }
    .idle { color: #0b5c53; }
    .processing { color: #0b3d8c; }
    .stopped, .unreachable { color: #7f1414; }
    .muted { color: #4a5553; font-size: 0.85rem; word-break: break-all; }
    .media { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0 0; padding: 0; list-style: none; }
    .media li { background: #eef1f0; border-radius: 999px; padding: 1px 8px; font-size: 0.85rem; font-weight: 600; }
    .none { color: #7f1414; font-size: 0.85rem; margin: 6px 0 0; }
  `

  constructor() {
    super()
    this.printers = []
  }

  override render() {
    if (this.printers.length === 0) return html`<p class="muted">Asking the printers…</p>`
    return this.printers.map((p) => html`<article aria-label="Printer ${printerName(p.uri)}">
      <h3>${printerName(p.uri)}</h3>
      <div class="state ${p.state}">${p.state}${p.stateReasons.length ? html`: ${p.stateReasons.join(', ')}` : nothing}</div>
      ${p.error ? html`<div role="status">${p.error}</div>` : nothing}
      <div class="muted">${p.uri}</div>
      ${p.media.length
        ? html`<ul class="media" aria-label="Media it holds">${sizes(p.media).map(([size, names]) => html`<li title=${names.join(', ')}>${size}</li>`)}</ul>`
        : p.error ? nothing : html`<p class="none">Lists no media: it gets nothing until its media is stated (--printer URI#media=…).</p>`}
    </article>`)
  }
}

/** Media grouped by size as staff read it (two names of one size, e.g. 5x7 photo and 5x7 plain, are one chip). */
function sizes(media: string[]): Array<[string, string[]]> {
  const bySize = new Map<string, string[]>()
  for (const name of media) bySize.set(mediaSize(name), [...(bySize.get(mediaSize(name)) ?? []), name])
  return [...bySize]
}

customElements.define('ls-console-printers', ConsolePrinters)
