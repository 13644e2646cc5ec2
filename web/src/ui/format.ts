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

export const STAGE_HINT: Record<Stage, string> = {
  draft: 'Saved on this device; not sent yet.',
  'device-only': 'Saved on this device only. It will be sent as soon as you are online.',
  sent: 'Sent. Waiting for the relay to receive it.',
  'sent-store': 'Sent to your home store\'s lab node, which passes it on to the relay.',
  'in-store': 'Received in store; waiting for the relay.',
  received: 'Received by the relay.',
  rejected: 'The relay did not accept this order.',
  cancelled: 'This order is cancelled.',
}

export function stageBadge(stage: Stage): TemplateResult {
  return html`<span class="badge ${stage}">${STAGE_LABEL[stage]}</span>`
}

export const PROGRESS_LABEL: Record<string, string> = {
  queued: 'Waiting at the lab',
  printing: 'Printing',
  held: 'Waiting for a printer',
  printed: 'Printed',
  failed: 'Printing failed',
  ready: 'Ready for pickup',
  collected: 'Collected',
}

/** The lab's progress in words; a ready order names the store to collect it from when it is known. */
export function progressLabel(status: string, pickupStore: string | undefined): string {
  if (status === 'ready' && pickupStore) return `Ready for pickup at ${pickupStore}`
  return PROGRESS_LABEL[status] ?? status
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

export function priceLines(lines: PriceLine[], total: number, currency: string, totalLabel: string, discount?: DiscountDecision | null): TemplateResult {
  return html`
    <table class="lines">
      <tbody>
        ${lines.map((line) => html`
          <tr class=${line.kind}>
            <td>${line.kind === 'discount' && discount ? discountLabel(discount) : line.label}</td>
            <td class="amount">${money(line.amount, currency)}</td>
          </tr>`)}
        <tr class="total"><td>${totalLabel}</td><td class="amount">${money(total, currency)}</td></tr>
      </tbody>
    </table>`
}

export const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`
