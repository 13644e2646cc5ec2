// Runs the LabPresences acceptance suite on a real PostgreSQL 15 started for this file: every test
// in a schema of its own; a restart is a new pool on it.
import { runLabPresenceTests } from './lab-presence.ts'
import { pgLabTables } from './lab-tables.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0

runLabPresenceTests('PostgreSQL', () => pgLabTables(server, `presence_${++schemas}`), () => server.stop())
