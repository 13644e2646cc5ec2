// The admin page's entry point (/admin/): defines the app element. Not part of the customer PWA.
import './app.ts'
