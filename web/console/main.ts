// The lab operator console's entry point (served by the lab node's --console at /): defines the app element.
import './app.ts'
