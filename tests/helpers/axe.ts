// axe-core in the browser tests: injects axe-core (from npm) into a playwright-core page, runs it
// on the whole document (open shadow roots included, as Lit renders) and returns the serious and
// critical violations, one per element. Violations another engineer still has to fix are listed
// as KnownViolation: the tests print them, and fail on any other.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'
import * as assert from 'uvu/assert'

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface Violation {
  /** axe's rule id, e.g. `color-contrast`. */
  rule: string
  impact: 'serious' | 'critical'
  help: string
  /** The element, as axe's selector; `>>` steps into a shadow root. */
  target: string
  html: string
}

/** A violation seen and routed to the owner of the file that causes it, until they fix it. */
export interface KnownViolation {
  screen: string
  rule: string
  /** Part of the element's selector or HTML that identifies it. */
  element: string
  /** The source file where the fix belongs. */
  file: string
}

/**
 * The serious and critical violations on the page as it is now. Evaluated as strings, not
 * functions: the test runner's compiler would add helpers that the page does not have.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  // evaluate() is not subject to the page's Content-Security-Policy (the lab console has one).
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE)
  return page.evaluate(`(async () => {
    const result = await window.axe.run(document, {
      resultTypes: ['violations'],
      // Experimental in axe 4.14, but WCAG 2.5.3 (Label in Name, level A): a control's accessible
      // name must contain its visible text, or speech users cannot name it.
      rules: { 'label-content-name-mismatch': { enabled: true } },
    })
    const found = []
    for (const violation of result.violations) {
      if (violation.impact !== 'serious' && violation.impact !== 'critical') continue
      for (const node of violation.nodes) {
        const target = node.target.map((step) => Array.isArray(step) ? step.join(' >> ') : step).join(' >> ')
        found.push({ rule: violation.id, impact: violation.impact, help: violation.help, target, html: node.html.slice(0, 200) })
      }
    }
    return found
  })()`) as Promise<Violation[]>
}

const matches = (known: KnownViolation, screen: string, violation: Violation) =>
  known.screen === screen && known.rule === violation.rule && (violation.target.includes(known.element) || violation.html.includes(known.element))

/**
 * Runs axe on `screen` and returns what is neither fixed nor known; prints the known ones seen
 * (still to fix, and where) and the known ones no longer seen (to take off the list).
 */
export async function unexpectedViolations(page: Page, screen: string, known: readonly KnownViolation[]): Promise<Violation[]> {
  const violations = await seriousViolations(page)
  const unexpected = violations.filter((v) => !known.some((k) => matches(k, screen, v)))
  for (const k of known.filter((k) => k.screen === screen)) {
    const seen = violations.filter((v) => matches(k, screen, v))
    if (seen.length > 0) console.log(`axe, known violation still there: [${screen}] ${k.rule} on ${seen[0].target} (${seen.length}×), fix in ${k.file}`)
    else console.log(`axe, known violation no longer seen: [${screen}] ${k.rule} on ${k.element}: take it off the list`)
  }
  for (const v of unexpected) console.log(`axe, ${v.impact}: [${screen}] ${v.rule} (${v.help}) on ${v.target}\n    ${v.html}`)
  return unexpected
}

/** For assertion messages: one line per violation. */
export function describe(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.rule} on ${v.target}`).join('\n')
}

/** Fails the test on any serious or critical violation on `screen` that is not in `known`. */
export async function assertNoViolations(page: Page, screen: string, known: readonly KnownViolation[]): Promise<void> {
  const unexpected = await unexpectedViolations(page, screen, known)
  assert.is(unexpected.length, 0, `${screen}:\n${describe(unexpected)}`)
}
