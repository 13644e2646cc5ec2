// A load-generating worker process: the parent sends jobs over IPC, this process runs the clients
// (lib/drive.ts) and answers with measurements. Never part of a server's process.
import type { Client } from '../lib/clients.ts'
import * as drive from '../lib/drive.ts'
import * as driveRate from '../lib/drive-rate.ts'

type Job = { id: number; kind: string; [key: string]: any }

// Every stock provider adds a process exit listener; a worker holds hundreds of them.
process.setMaxListeners(0)

const held = new Map<string, { close(): void }>()
const rateClients = new Map<string, Client[]>()
const prepared = new Map<string, Awaited<ReturnType<typeof drive.prepareCustomers>>>()

function keep(key: string, clients: Client[]): void {
  held.set(key, { close: () => { for (const c of clients) c.destroy() } })
}

async function handle(job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'sync-prepare': {
      const customers = await drive.prepareCustomers(job.job)
      prepared.set(job.key, customers)
      return { opened: customers.opened, errors: customers.errors.length }
    }
    case 'sync-run': {
      const customers = prepared.get(job.key)!
      prepared.delete(job.key)
      const result = await customers.run()
      customers.close()
      return result
    }
    case 'hold': {
      const { clients, errors } = await drive.holdRooms(job.system, job.wsUrl, job.rooms, job.concurrency ?? 64)
      keep(job.key, clients)
      return { opened: clients.length - errors.length, errors }
    }
    case 'burst': {
      const { clients, acked, errors } = await drive.burst(job.system, job.wsUrl, job.rooms, job.writes)
      keep(job.key, clients)
      return { acked, errors }
    }
    case 'rate-open': {
      const { clients, errors } = await driveRate.openRateClients(job.job)
      keep(job.key, clients)
      rateClients.set(job.key, clients)
      return { opened: clients.length, errors }
    }
    case 'rate-step':
      return driveRate.runAtRate(rateClients.get(job.key) ?? [], job.rate, job.seconds)
    case 'release': {
      held.get(job.key)?.close()
      held.delete(job.key)
      rateClients.delete(job.key)
      return { released: true }
    }
    case 'count':
      return drive.countSurvivors(job.system, job.wsUrl, job.rooms)
    case 'submit':
      return drive.submitOrders(job.job)
    case 'labpull':
      return drive.labPull(job.job)
    case 'exit':
      for (const h of held.values()) h.close()
      setImmediate(() => process.exit(0))
      return { bye: true }
    default:
      throw new Error(`unknown job ${job.kind}`)
  }
}

process.on('message', (job: Job) => {
  handle(job).then(
    (result) => process.send!({ id: job.id, ok: true, result }),
    (error: Error) => process.send!({ id: job.id, ok: false, error: error.stack ?? error.message }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send!({ ready: true })
