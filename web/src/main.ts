// The customer PWA's entry point: defines the app element (which registers the service worker).
import './ui/app.ts'
