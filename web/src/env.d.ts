// Types for what Vite and vite-plugin-pwa provide at build time.
/// <reference types="vite/client" />
/// <reference types="vite-plugin-pwa/vanillajs" />
