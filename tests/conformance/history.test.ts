// Runs the HistoryStore acceptance suite on SQLite (the relay's file; a restart is a new connection to it).
import { runHistoryTests } from './history.ts'
import { sqliteLabTables } from './lab-tables.ts'

runHistoryTests('SQLite', sqliteLabTables)
