// Builds the customer PWA (web/) into dist/, which the relay serves at `/`; the admin page
// (web/admin/index.html) and the lab's operator console (web/console/index.html, served by the
// lab node's --console) join the build as further entries once they exist.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import { defineConfig, type Plugin } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import { afterBuildPlugin, FIRST_VISIT_BUDGET_KIB, reportSizePlugin } from './web/report-size.ts'

const webDir = fileURLToPath(new URL('./web/', import.meta.url))
const adminHtml = `${webDir}admin/index.html`
// LABSYNC_WEB_ONLY=1 builds the customer app alone: the browser tests of the PWA do, so that they
// neither wait for nor depend on the admin page.
const hasAdmin = existsSync(adminHtml) && process.env.LABSYNC_WEB_ONLY !== '1'
const ADMIN_SOURCE = `${webDir}admin/`
const consoleHtml = `${webDir}console/index.html`
const hasConsole = existsSync(consoleHtml) && process.env.LABSYNC_WEB_ONLY !== '1'
const CONSOLE_SOURCE = `${webDir}console/`
/** The pages beside the customer app: each one's own code goes under its folder. */
const PAGES = { admin: ADMIN_SOURCE, console: CONSOLE_SOURCE } as const
const pageOf = (name: string): string | undefined => (name === 'admin' || name === 'console' ? name : undefined)

/** Kinds of file worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.js', '.css', '.html', '.svg', '.webmanifest', '.json', '.map', '.txt'])
/** Below this, a compressed copy saves less than the headers it costs. */
const COMPRESS_FROM_BYTES = 1024

/**
 * Writes file.br and file.gz beside every compressible file of the build, once it is complete
 * (after the service worker is written), so that the relay and the lab console send them as they
 * are (sync-server/static-files.ts) instead of compressing on every request.
 */
function precompressPlugin(): Plugin {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]))
  return afterBuildPlugin('labsync:precompress', (outDir) => {
    for (const file of walk(outDir)) {
      if (!COMPRESSIBLE.has(extname(file)) || statSync(file).size < COMPRESS_FROM_BYTES) continue
      const bytes = readFileSync(file)
      const brotli = brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } })
      const gzip = gzipSync(bytes, { level: 9 })
      if (brotli.length < bytes.length) writeFileSync(`${file}.br`, brotli)
      if (gzip.length < bytes.length) writeFileSync(`${file}.gz`, gzip)
    }
  })
}

/**
 * vite-plugin-pwa links the customer manifest from every page it builds; the admin page links its
 * own (web/public/admin/manifest.webmanifest) and the lab console none, so neither installs as
 * the customer app.
 */
function ownManifestPlugin(): Plugin {
  const CUSTOMER_MANIFEST = /<link rel="manifest" href="\/manifest\.webmanifest"[^>]*>/
  return {
    name: 'labsync:own-manifest',
    apply: 'build',
    enforce: 'post',
    transformIndexHtml: {
      order: 'post',
      handler(html, context) {
        if (context.filename.startsWith(ADMIN_SOURCE)) return html.replace(CUSTOMER_MANIFEST, '<link rel="manifest" href="/admin/manifest.webmanifest">')
        if (context.filename.startsWith(CONSOLE_SOURCE)) return html.replace(CUSTOMER_MANIFEST, '')
        return html
      },
    },
  }
}

export default defineConfig({
  root: webDir,
  base: '/',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      input: {
        main: `${webDir}index.html`,
        ...(hasAdmin ? { admin: adminHtml } : {}),
        ...(hasConsole ? { console: consoleHtml } : {}),
      },
      output: {
        // The admin page's and the console's own code go under admin/ and console/, which the
        // customer's service worker does not precache: customers never download them.
        entryFileNames: (chunk) => {
          const page = pageOf(chunk.name)
          return page ? `${page}/assets/[name]-[hash].js` : 'assets/[name]-[hash].js'
        },
        chunkFileNames: (chunk) => {
          const page = Object.entries(PAGES).find(([, source]) => chunk.moduleIds.length > 0 && chunk.moduleIds.every((id) => id.startsWith(source)))?.[0]
          return page ? `${page}/assets/[name]-[hash].js` : 'assets/[name]-[hash].js'
        },
      },
    },
  },
  plugins: [
    VitePWA({
      registerType: 'prompt',
      injectRegister: false,
      // globPatterns below already precache the icons.
      includeManifestIcons: false,
      manifest: {
        // The app's identity for the browser, kept if start_url ever moves.
        id: '/',
        name: 'labsync prints',
        short_name: 'Prints',
        description: 'Order photo prints from your phone, online or offline.',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        background_color: '#f6f7f5',
        theme_color: '#0b5c53',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
        // Shown by the browser's richer install sheet (web/public/screenshots/, the sign-in screen).
        screenshots: [
          { src: '/screenshots/phone-390x844.png', sizes: '390x844', type: 'image/png', form_factor: 'narrow', label: 'Create an account or sign in to order prints' },
          { src: '/screenshots/desktop-1280x800.png', sizes: '1280x800', type: 'image/png', form_factor: 'wide', label: 'Create an account or sign in to order prints' },
        ],
      },
      workbox: {
        // What the app needs to run offline: its scripts, styles, page and the icon it shows. The
        // PNG icons and screenshots are for installing (the browser fetches them when it needs
        // them), so a first visit does not download them for the precache.
        globPatterns: ['**/*.{js,css,html,svg}'],
        globIgnores: ['admin/**', 'console/**', 'screenshots/**'],
        navigateFallback: '/index.html',
        // The API, the sync socket and the admin page are never answered by the app shell.
        navigateFallbackDenylist: [/^\/api\//, /^\/sync\//, /^\/admin/, /^\/console/, /^\/healthz/],
        cleanupOutdatedCaches: true,
        clientsClaim: false,
        skipWaiting: false,
      },
    }),
    ownManifestPlugin(),
    // Compress first, then measure what a browser receives: the report reads the .br copies.
    precompressPlugin(),
    reportSizePlugin({ budgetKiB: FIRST_VISIT_BUDGET_KIB }),
  ],
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
})
