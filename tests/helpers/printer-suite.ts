// Moved to tests/conformance/printer.ts (one acceptance suite per interface live there); this
// re-export only keeps tests/integration/render.test.ts's import working until it points there.
export * from '../conformance/printer.ts'
