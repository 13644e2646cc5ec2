// The commands and each one's options as a table, with the help text made from the tables; read by
// bin/cli.ts to parse and by tests to check that every option is described.
import { columns, optionList, synopsis, type Option } from './options.ts'

export const COMMANDS: readonly (readonly [string, string])[] = [
  ['relay', 'runs the relay: sync server, order intake, photos, the admin API and the web app'],
  ['lab', 'runs a lab node: fetches the orders assigned to its lab, prints them, reports the history'],
  ['admin', 'lists receipts, printing history, labs or the admin audit log from a running relay'],
  ['help', 'prints this help; `labsync help COMMAND` or `labsync COMMAND --help` for its options'],
]

export const USAGE = `usage: labsync COMMAND [options]

commands:
${columns(COMMANDS)}`

export const RELAY_OPTIONS = [
  { name: 'host', value: 'H', help: 'address to listen on', default: '127.0.0.1' },
  { name: 'port', value: 'P', help: 'port to listen on; 0 picks a free one', default: '8080' },
  { name: 'data', value: 'DIR', help: "where relay.sqlite, the signing key and photos live; in cluster mode no database, only photos being received and (with --images postgres) this relay's copies of photos; made if missing", default: './data' },
  { name: 'config', value: 'FILE', help: "the relay's JSON configuration; without it, the demo catalog" },
  { name: 'fresh', help: 'start although relay.sqlite is missing or empty in a data dir a relay used before (signing key, photos): begins with an empty database and restores nothing' },
  { name: 'signing-key', value: 'FILE', help: 'sign and check session tokens with this Ed25519 private key (PEM, mode 0600) instead of the one made under --data, so that every relay of a cluster accepts the others\' tokens; also LABSYNC_SIGNING_KEY' },
  { name: 'store', value: 'URL', help: 'cluster mode: keep documents and photos in this PostgreSQL database (postgres://USER:PASSWORD@HOST:PORT/DB), shared by every relay of the cluster; needs --fanout and --signing-key; also LABSYNC_STORE' },
  { name: 'fanout', value: 'URL', help: "cluster mode: hear the other relays' committed updates through this Redis (redis://[:PASSWORD@]HOST:PORT); only with --store; also LABSYNC_FANOUT" },
  { name: 'images', value: 'postgres|DIR', help: "cluster mode: where photos' bytes are kept (who owns which is always in --store's database): postgres keeps them in that database, each relay caching them under its --data; DIR, an absolute path every relay mounts (e.g. NFS), mode 0700, keeps them there as files by hash; only with --store; also LABSYNC_IMAGES", default: 'postgres with --store' },
  { name: 'trust-proxy', value: 'CIDR[,CIDR]', help: 'take the client\'s address from X-Forwarded-For (its right-most untrusted hop) when the connection comes from these addresses, for logs and per-address limits; from anyone else the header is ignored; also LABSYNC_TRUST_PROXY' },
] as const satisfies readonly Option[]

export const RELAY_HELP = `${synopsis('relay', RELAY_OPTIONS)}

options:
${optionList(RELAY_OPTIONS)}

At start the relay refuses (exit 2) a missing or empty database in a used data dir without
--fresh, a file that is not a SQLite database, and one PRAGMA quick_check finds damaged (checked
when the last run did not shut down cleanly or the file changed since).

Cluster mode (--store): several relays share one PostgreSQL database, which is where a write is
acknowledged, and hear each other through Redis (--fanout); run them behind a balancer
(deploy/haproxy.cfg, deploy/README.md). The relay refuses to start (exit 2) in cluster mode
without --fanout or --signing-key, with an --images DIR that is not an absolute path, missing,
not a directory, open to other users or not writable, and --fanout or --images without --store.
Passwords in the URLs are never printed.
/healthz answers 503 while PostgreSQL does not answer, and sync sockets whose writes could not
be stored are closed with 4500 (retry later).

Environment: LABSYNC_WEB_DIR=DIR serves the web app built in DIR (default ./dist beside the
program; refused at start without DIR/index.html); LABSYNC_HEARTBEAT_MS (ping every sync socket,
default 30000), LABSYNC_ROOM_IDLE_MS (unload a room with no socket after it, default 30000) and
LABSYNC_COMPACT_AFTER (fold a document's updates into a snapshot after this many, default
500) tune the sync server. LABSYNC_IMAGE_CACHE_BYTES caps a cluster relay's copies of photos
under --data with --images postgres (least recently used removed past it, default 2147483648).`

export const LAB_OPTIONS = [
  { name: 'relay', value: 'URL', help: "the relay's http:// or https:// URL", required: true },
  { name: 'lab', value: 'ID', help: "this lab's id in the relay's configuration", required: true },
  { name: 'key', value: 'KEY', help: "this lab's key, as in the relay's configuration", required: true },
  { name: 'printer', value: 'URI', help: 'where to print: ipp://HOST/PATH, ipps://HOST/PATH, or file:DIR to write the print files to a folder. Given several times, each item goes to the first printer (in the order given) whose media holds its product\'s media. URI#media=M1,M2 states the media the printer holds (PWG names, e.g. ipp://h:631/ipp/print#media=na_index-4x6_4x6in,oe_photo-l_3.5x5in) in place of what it lists; a printer that lists none gets nothing without it', required: true, repeat: true },
  { name: 'data', value: 'DIR', help: "where the lab node keeps its journal (lab.sqlite), fetched photos and the in-store server's database", default: './data/lab' },
  { name: 'templates', value: 'DIR', help: 'full-size frame templates, one <id>.png each; plain and white-border are built in' },
  { name: 'history-interval', value: 'SECONDS', help: 'how often the printing history is sent to the relay', default: '60' },
  { name: 'auto', help: 'take orders as soon as a printer is free; without it the operator asks for them (on stdin)' },
  { name: 'listen', value: 'H:P', help: 'serve in-store terminals over the LAN on this address; port 0 picks a free one; without it, no in-store server' },
  { name: 'tls-cert', value: 'PEM', help: "the in-store server's certificate for https/wss (with --listen and --tls-key)" },
  { name: 'tls-key', value: 'PEM', help: "the in-store server's private key (with --listen and --tls-cert)" },
  { name: 'console', value: 'H:P', help: 'serve the operator console (page and /api/) on this address; port 0 picks a free one; needs --operator-token' },
  { name: 'operator-token', value: 'T', help: 'the token the operator console asks for (at least 8 characters); also LABSYNC_OPERATOR_TOKEN' },
] as const satisfies readonly Option[]

export const LAB_HELP = `${synopsis('lab', LAB_OPTIONS)}

options:
${optionList(LAB_OPTIONS)}

Several printers: an item whose media no printer holds waits ("no printer holds M") until one
does; a printer that is paused or out of paper holds only the items routed to it.
When ready it prints \`lab ID ready\`.
Environment: LABSYNC_LAN_POLL_MS (how often the in-store server fetches sign-outs and the
relay's clock, default 10000).`

/** Each command's help, for `labsync help COMMAND`; admin prints its own. */
export const HELP: Record<string, string> = { relay: RELAY_HELP, lab: LAB_HELP }
