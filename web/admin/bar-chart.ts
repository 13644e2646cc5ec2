// A small stacked bar chart per day as inline SVG (no chart library): one bar per day, one coloured
// part per series, a few gridlines, and each day's values in a tooltip (<title>) and the legend.
// It takes the same room with or without figures (loading, nothing in the period), so the page
// around it does not move when they arrive.
import { LitElement, css, html, nothing, svg } from 'lit'

export interface Series { name: string; color: string; values: number[] }

/** Colours with at least 3:1 contrast against white, told apart without relying on hue alone being seen well. */
export const PALETTE = ['#0b5c53', '#b3541e', '#3b5bdb', '#8e3b8e', '#5c6b00', '#a61e4d', '#0a6e8a', '#6b4f1d']

const W = 400
const H = 180
const M = { left: 56, right: 8, top: 10, bottom: 24 }

/** The smallest 1, 2 or 5 × 10^n at or above `value`, so gridlines fall on round numbers. */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

export class BarChart extends LitElement {
  static override properties = {
    heading: { type: String },
    days: { attribute: false },
    series: { attribute: false },
    format: { attribute: false },
    loading: { type: Boolean },
  }

  heading = ''
  days: string[] = []
  series: Series[] = []
  format: (value: number) => string = (value) => value.toLocaleString()
  /** The figures are on their way: the chart's room, with "Loading…" in it. */
  loading = false

  static override styles = css`
    :host { display: block; }
    figure { margin: 0; }
    figcaption { font-weight: 700; margin-bottom: 0.25rem; }
    .plot { aspect-ratio: ${W} / ${H}; }
    svg { width: 100%; height: 100%; display: block; }
    .grid { stroke: #d9dedc; stroke-width: 1; }
    .axis { fill: #4a5553; font-size: 11px; font-variant-numeric: tabular-nums; }
    /* One line kept whether or not there is a legend (one series has none): the charts side by
       side keep one height. More labs than fit on a line do make it grow. */
    .legend, .no-legend { font-size: 0.85rem; line-height: 1.45; margin-top: 0.25rem; min-height: 1.45em; }
    .legend { display: flex; flex-wrap: wrap; gap: 0.25rem 0.875rem; }
    .swatch { display: inline-block; width: 0.625rem; height: 0.625rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: -1px; }
    .empty { color: #4a5553; font-size: 0.9rem; margin: 0; height: 100%; display: grid; place-items: center; }
  `

  override render() {
    const totals = this.days.map((_, day) => this.series.reduce((sum, s) => sum + (s.values[day] ?? 0), 0))
    const grand = totals.reduce((a, b) => a + b, 0)
    const caption = html`<figcaption>${this.heading}</figcaption>`
    if (this.loading || this.days.length === 0 || grand === 0) {
      const message = this.loading ? 'Loading…' : 'Nothing in this period.'
      return html`<figure>${caption}<div class="plot"><p class="empty">${message}</p></div><div class="no-legend"></div></figure>`
    }
    const top = niceCeiling(Math.max(...totals))
    const plotW = W - M.left - M.right
    const plotH = H - M.top - M.bottom
    const band = plotW / this.days.length
    const barW = Math.max(1, band * 0.72)
    const y = (value: number) => M.top + plotH - (value / top) * plotH
    const labelEvery = Math.ceil(this.days.length / 6)
    const summary = `${this.heading}: ${this.format(grand)} in all over ${this.days.length} days, at most ${this.format(Math.max(...totals))} a day`
    return html`
      <figure>
        ${caption}
        <div class="plot"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${summary}>
          ${[0, 0.5, 1].filter((f) => Number.isInteger(top * f)).map((f) => svg`
            <line class="grid" x1=${M.left} x2=${W - M.right} y1=${y(top * f)} y2=${y(top * f)}></line>
            <text class="axis" x=${M.left - 6} y=${y(top * f) + 4} text-anchor="end">${this.format(top * f)}</text>`)}
          ${this.days.map((day, i) => {
            let base = 0
            const x = M.left + i * band + (band - barW) / 2
            const tip = `${day}: ${this.series.filter((s) => s.values[i]).map((s) => `${this.series.length > 1 ? `${s.name} ` : ''}${this.format(s.values[i])}`).join(', ') || this.format(0)}`
            return svg`
              <g class="day" data-day=${day}>
                <title>${tip}</title>
                <rect x=${M.left + i * band} y=${M.top} width=${band} height=${plotH} fill="transparent"></rect>
                ${this.series.map((s) => {
                  const value = s.values[i] ?? 0
                  if (value <= 0) return nothing
                  const rect = svg`<rect class="bar" x=${x} y=${y(base + value)} width=${barW} height=${y(base) - y(base + value)} fill=${s.color}></rect>`
                  base += value
                  return rect
                })}
                ${i % labelEvery === 0 ? svg`<text class="axis" x=${M.left + i * band + band / 2} y=${H - 6} text-anchor="middle">${day.slice(5)}</text>` : nothing}
              </g>`
          })}
        </svg></div>
        ${this.series.length > 1
          ? html`<div class="legend">${this.series.map((s) => html`<span><span class="swatch" style="background:${s.color}"></span>${s.name}</span>`)}</div>`
          : html`<div class="no-legend"></div>`}
      </figure>`
  }
}

customElements.define('ls-admin-bar-chart', BarChart)
