// Shared look: a phone-first single column, large touch targets (2.75rem, 44 px at the default
// font), visible focus, and colours with at least 4.5:1 contrast against their backgrounds. Controls
// are sized in rem so that they grow with the browser's font size like the text does.
import { css } from 'lit'

export const base = css`
  :host { display: block; box-sizing: border-box; font-size: 1rem; }
  *, *::before, *::after { box-sizing: inherit; }
  h1, h2, h3 { line-height: 1.2; margin: 0 0 8px; }
  h1 { font-size: 1.5rem; }
  h2 { font-size: 1.15rem; margin-top: 4px; }
  h3 { font-size: 1rem; }
  p { margin: 0 0 8px; }
  a { color: #0b5c53; }
  :focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
  .muted { color: #4a5553; }
  .small { font-size: 0.875rem; }
  .card {
    background: #fff; border: 1px solid #d9dedc; border-radius: 12px; padding: 16px; margin: 0 0 12px;
  }
  .stack > * + * { margin-top: 12px; }
  .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  .spread { display: flex; gap: 8px; align-items: baseline; justify-content: space-between; }
  button, .button {
    font: inherit; font-size: 1rem; min-height: 2.75rem; padding: 0.625rem 1rem; border-radius: 10px; cursor: pointer;
    border: 1px solid #0b5c53; background: #fff; color: #0b5c53; font-weight: 600;
    display: inline-flex; align-items: center; justify-content: center; gap: 6px; text-decoration: none;
  }
  button.primary, .button.primary { background: #0b5c53; color: #fff; }
  button.danger { border-color: #9b1c1c; color: #9b1c1c; }
  button.link { border: none; background: none; padding: 0 0.25rem; min-height: 2.75rem; text-decoration: underline; font-weight: 500; }
  button:disabled { opacity: 0.55; cursor: not-allowed; }
  button.wide, .button.wide { width: 100%; }
  label { font-weight: 600; font-size: 0.9rem; }
  input, select {
    font: inherit; font-size: 1rem; min-height: 2.75rem; padding: 0.5rem 0.625rem; border: 1px solid #7a8583; border-radius: 8px;
    background: #fff; color: #1b1f1e; width: 100%;
  }
  .field { display: grid; gap: 4px; }
  .badge {
    display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 0.8rem; font-weight: 700;
    border: 1px solid currentColor; white-space: nowrap;
  }
  .badge.draft { color: #4a5553; background: #f1f3f2; }
  .badge.device-only { color: #7a3e00; background: #fff1df; }
  .badge.sent, .badge.sent-store, .badge.in-store { color: #0a4f9c; background: #e8f1fd; }
  .badge.received, .badge.printing, .badge.printed, .badge.ready, .badge.collected { color: #0b5c53; background: #e3f4f1; }
  .badge.waiting-photos, .badge.held, .badge.failed { color: #7a3e00; background: #fff1df; }
  .badge.rejected, .badge.cancelled { color: #9b1c1c; background: #fdecec; }
  .notice { border-radius: 10px; padding: 10px 12px; margin: 0 0 12px; font-size: 0.95rem; }
  .notice.warn { background: #fff4d6; color: #5c4300; border: 1px solid #e5c46b; }
  .notice.error { background: #fdecec; color: #7f1414; border: 1px solid #e8a3a3; }
  .notice.info { background: #e8f1fd; color: #0a3d78; border: 1px solid #a9c8ee; }
  table.lines { width: 100%; border-collapse: collapse; }
  table.lines td { padding: 6px 0; border-bottom: 1px solid #eceff0; vertical-align: top; }
  table.lines td.amount { text-align: right; white-space: nowrap; padding-left: 12px; font-variant-numeric: tabular-nums; }
  table.lines tr.total td { border-bottom: none; font-weight: 700; font-size: 1.1rem; padding-top: 10px; }
  table.lines tr.discount td { color: #0b5c53; }
  .visually-hidden {
    position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
  }
  dl.facts { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 0 0 8px; font-size: 0.95rem; }
  dl.facts dt { font-weight: 600; color: #4a5553; }
  dl.facts dd { margin: 0; }
  .photo-name { font-weight: 600; overflow-wrap: anywhere; }
  img.thumb { width: 88px; height: 88px; object-fit: cover; border-radius: 8px; background: #e6eae8; display: block; flex: none; }
  .thumb-placeholder { width: 88px; height: 88px; border-radius: 8px; background: #e6eae8; flex: none; }
`
