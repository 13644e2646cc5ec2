// Builds the customer PWA (web/) into dist/, which the relay serves at `/`; the admin page
// (web/admin/index.html) and the lab's operator console (web/console/index.html, served by the
// lab node's --console) join the build as further entries once they exist.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import { reportSizePlugin } from './web/report-size.ts'

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
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png}'],
        globIgnores: ['admin/**', 'console/**'],
        navigateFallback: '/index.html',
        // The API, the sync socket and the admin page are never answered by the app shell.
        navigateFallbackDenylist: [/^\/api\//, /^\/sync\//, /^\/admin/, /^\/console/, /^\/healthz/],
        cleanupOutdatedCaches: true,
        clientsClaim: false,
        skipWaiting: false,
      },
    }),
    reportSizePlugin({ budgetKiB: 150 }),
  ],
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
})
