// Builds the customer PWA (web/) into dist/, which the relay serves at `/`; the admin page
// (web/admin/index.html) joins the build as a second entry once it exists.
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

export default defineConfig({
  root: webDir,
  base: '/',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      input: hasAdmin ? { main: `${webDir}index.html`, admin: adminHtml } : { main: `${webDir}index.html` },
      output: {
        // The admin page's own code goes under admin/, which the customer's service worker does
        // not precache: customers never download it.
        entryFileNames: (chunk) => (chunk.name === 'admin' ? 'admin/assets/[name]-[hash].js' : 'assets/[name]-[hash].js'),
        chunkFileNames: (chunk) =>
          chunk.moduleIds.length > 0 && chunk.moduleIds.every((id) => id.startsWith(ADMIN_SOURCE))
            ? 'admin/assets/[name]-[hash].js'
            : 'assets/[name]-[hash].js',
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
        globIgnores: ['admin/**'],
        navigateFallback: '/index.html',
        // The API, the sync socket and the admin page are never answered by the app shell.
        navigateFallbackDenylist: [/^\/api\//, /^\/sync\//, /^\/admin/, /^\/healthz/],
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
