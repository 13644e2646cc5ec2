// Runs the LabPresences acceptance suite on SQLite (the relay's file; a restart is a new connection to it).
import { runLabPresenceTests } from './lab-presence.ts'
import { sqliteLabTables } from './lab-tables.ts'

runLabPresenceTests('SQLite', sqliteLabTables)
