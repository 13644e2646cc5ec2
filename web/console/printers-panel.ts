// Each printer's state, its reasons (out of paper, door open…) and the media it holds.
import { LitElement, css, html, nothing } from 'lit'
import type { PrinterView } from '../../shared/console-wire.ts'
import { printerName } from './format.ts'

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
    ul { margin: 4px 0 0; padding-left: 18px; font-size: 0.85rem; }
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
      ${p.media.length ? html`<details><summary>Media (${p.media.length})</summary><ul>${p.media.map((m) => html`<li>${m}</li>`)}</ul></details>` : nothing}
    </article>`)
  }
}

customElements.define('ls-console-printers', ConsolePrinters)
