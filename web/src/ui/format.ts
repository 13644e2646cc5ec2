// Small pieces of wording and formatting the views share: dates, money, the order's sign.
import { html, type TemplateResult } from 'lit'
import { formatMoney } from '../../../shared/pricing.ts'
import type { DiscountDecision, PriceLine } from '../../../shared/schema.ts'
import { describePeriod } from '../orders/estimate.ts'
import { STAGE_LABEL, type Stage } from '../orders/stage.ts'

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

export function formatDateTime(iso: string | undefined): string {
  const date = iso ? new Date(iso) : null
  return date && !Number.isNaN(date.getTime()) ? dateTime.format(date) : ''
}

const short = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' })

/** "Mar 3, 2:05 PM": for lists, where the year is rarely in doubt. */
export function formatShort(iso: string | undefined): string {
  const date = iso ? new Date(iso) : null
  return date && !Number.isNaN(date.getTime()) ? short.format(date) : ''
}

export function formatDate(iso: string | undefined): string {
  const date = iso ? new Date(iso) : null
  return date && !Number.isNaN(date.getTime()) ? dateOnly.format(date) : ''
}

export const money = (amount: number, currency: string): string => formatMoney(amount, currency)

/** One sentence under the sign; no server names: the customer knows "the print service" and their store. */
export const STAGE_HINT: Record<Stage, string> = {
  draft: 'Not sent yet.',
  'device-only': 'Saved on this device only. It will be sent as soon as you are online.',
  sent: 'Sent. Waiting for the print service to receive it.',
  'sent-store': 'Sent to your home store, which passes it on to the print service.',
  'in-store': 'Received in store; the print service confirms it when the store is back online.',
  'waiting-photos': 'Received. Printing starts once every photo has arrived.',
  received: 'Received. Waiting for its turn at the lab.',
  held: 'Received. Waiting for a printer at the lab to be free or fixed.',
  printing: 'Printing at the lab.',
  printed: 'Printed. The store tells you when it is ready for pickup.',
  failed: 'The lab had a problem printing this order; it tries again or the store contacts you.',
  ready: 'Ready for pickup.',
  collected: 'Collected. Thank you!',
  rejected: 'This order was not accepted.',
  cancelled: 'This order is cancelled.',
}

/** The sign in words; "Ready for pickup at <store>" where the pickup store is known. */
export function stageText(stage: Stage, pickupStore?: string): string {
  return stage === 'ready' && pickupStore ? `Ready for pickup at ${pickupStore}` : STAGE_LABEL[stage]
}

export function stageBadge(stage: Stage, pickupStore?: string): TemplateResult {
  return html`<span class="badge ${stage}">${stageText(stage, pickupStore)}</span>`
}

/**
 * The store the prints are collected from: the order's pickup store when it names one
 * (spec.pickupFront), else the store it was ordered at.
 */
export function pickupFrontOf(spec: { front?: string; pickupFront?: unknown }): string | undefined {
  return typeof spec.pickupFront === 'string' && spec.pickupFront ? spec.pickupFront : spec.front
}

/**
 * An order's name for people: its number once the relay accepted it ("Order K7M2"), which the
 * store reads aloud and the customer gives at the counter; the date before that.
 */
export function orderTitle(spec: { state?: string; createdAt?: string }, receipt: { number?: string } | null): string {
  if (spec.state === 'draft') return 'New order'
  return receipt?.number ? `Order ${receipt.number}` : `Order of ${formatShort(spec.createdAt)}`
}

/** The discount line in words: which earlier order earned it, and within which period. */
export function discountLabel(discount: DiscountDecision): string {
  return `Repeat-order discount (your order of ${formatDate(discount.previousReceivedAt)}, within ${describePeriod(discount.within)})`
}

/**
 * The photo each print line is for: the pricing writes one print line per item, in the items'
 * order (shared/pricing.ts), so the n-th print line is the n-th item's photo.
 */
export function photoNamesOf(items: Array<{ image: string }>, photos: { get(sha256: string): { name: string } | undefined }): string[] {
  return items.map((item, index) => photos.get(item.image)?.name ?? `Photo ${index + 1}`)
}

export function priceLines(lines: PriceLine[], total: number, currency: string, totalLabel: string, discount?: DiscountDecision | null, photoNames?: string[]): TemplateResult {
  const printLines = lines.filter((line) => line.kind === 'print').length
  // Only when they line up: a line per item (an item the pricing skipped would shift the names).
  const names = photoNames && photoNames.length === printLines ? photoNames : null
  let print = 0
  return html`
    <table class="lines">
      <tbody>
        ${lines.map((line) => {
          const name = line.kind === 'print' && names ? names[print++] : null
          const label = line.kind === 'discount' && discount && line.by !== 'front' ? discountLabel(discount) : line.label
          return html`
          <tr class=${line.kind}>
            <td>${name ? html`<span class="photo-name">${name}</span> · ` : ''}${label}</td>
            <td class="amount">${money(line.amount, currency)}</td>
          </tr>`
        })}
        <tr class="total"><td>${totalLabel}</td><td class="amount">${money(total, currency)}</td></tr>
      </tbody>
    </table>`
}

export const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`
