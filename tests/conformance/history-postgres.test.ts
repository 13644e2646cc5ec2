// Runs the HistoryStore acceptance suite on a real PostgreSQL 15 started for this file: every test
// in a schema of its own; another relay (or a restart) is a new pool on it.
import { runHistoryTests } from './history.ts'
import { pgLabTables } from './lab-tables.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0

runHistoryTests('PostgreSQL', () => pgLabTables(server, `history_${++schemas}`), () => server.stop())
