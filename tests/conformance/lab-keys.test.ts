// Runs the LabKeys acceptance suite on SQLite (the relay's file; a restart is a new connection to it).
import { runLabKeysTests } from './lab-keys.ts'
import { sqliteLabTables } from './lab-tables.ts'

runLabKeysTests('SQLite', sqliteLabTables)
