// Types for bin/bundle.mjs (plain JavaScript, so that it runs before any TypeScript loader).
/** The bundled CLI's entry (built now if none matches the sources), or null: then run it through tsx. */
export function bundledCli(root?: string): Promise<string | null>
/** esbuild options that give each bundled source its own import.meta.dirname, filename and url. */
export function ownImportMeta(): { define: Record<string, string>; plugins: Array<import('esbuild').Plugin> }
/** Writes a build made with `write: false`, its source maps naming their sources by absolute URL. */
export function writeOutput(outputFiles: Array<import('esbuild').OutputFile>): void
/** The esbuild options every labsync bundle is made with (entry points and output folder aside). */
export function bundleOptions(): import('esbuild').BuildOptions & { write: false }
