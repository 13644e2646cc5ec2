// Types for bin/bundle.mjs (plain JavaScript, so that it runs before any TypeScript loader).
/** The bundled CLI's entry (built now if none matches the sources), or null: then run it through tsx. */
export function bundledCli(root?: string): Promise<string | null>
