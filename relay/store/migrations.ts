// The relay's database schema, one migration list: PRAGMA user_version counts these steps in
// every relay data directory, so released steps keep their order and text and new ones are
// appended. The document and image stores declare their own tables; the relay's stores
// (accounts, receptions, history, audit, lab keys) have theirs here.
import type { Migrations } from '../../storage/sqlite/database.ts'
import { DOC_TABLES } from '../../storage/sqlite/doc-store.ts'
import { IMAGE_TABLES } from '../../storage/sqlite/image-store.ts'

/** Accounts and their sessions (accounts.ts). */
const ACCOUNT_TABLES = `CREATE TABLE accounts (
     user_id       TEXT PRIMARY KEY,
     email         TEXT NOT NULL UNIQUE,
     name          TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     created_at    TEXT NOT NULL
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_id    TEXT NOT NULL REFERENCES accounts (user_id),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX sessions_by_user ON sessions (user_id);`

/**
 * Step 11's UPDATE setting both discount columns of the rows `where` selects (all without) from
 * their receipt's lines. Part of that step's text: never change it once the step is released.
 */
function discountColumnsUpdate(table: string, where?: string): string {
  const applied = (by: string) => `coalesce((SELECT -sum(l.value ->> 'amount') FROM json_each(${table}.lines) l
      WHERE l.value ->> 'kind' = 'discount' AND coalesce(l.value ->> 'by', 'lab') = '${by}'), 0)`
  return `UPDATE ${table} SET lab_discount_amount = ${applied('lab')}, front_discount_amount = ${applied('front')}${where ? ` WHERE ${where}` : ''};`
}

export const RELAY_MIGRATIONS: Migrations = [
  // 1: documents, accounts, images. The indentation between them is as released (the text of
  // each CREATE is what sqlite_master keeps).
  `${DOC_TABLES}
   ${ACCOUNT_TABLES}
   ${IMAGE_TABLES}`,
  // 2: receptions, one row per received order, the discount decision kept with it.
  `CREATE TABLE receptions (
     seq            INTEGER PRIMARY KEY,
     order_id       TEXT NOT NULL UNIQUE,
     user_id        TEXT NOT NULL,
     front          TEXT NOT NULL,
     lab            TEXT NOT NULL,
     received_at    INTEGER NOT NULL,
     status         TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'cancelled')),
     error          TEXT,
     lines          TEXT NOT NULL,
     total          INTEGER NOT NULL,
     currency       TEXT NOT NULL,
     discount_order TEXT,
     discount_received_at INTEGER,
     discount_within TEXT,
     discount_amount INTEGER,
     delivered      INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX receptions_by_user ON receptions (user_id, received_at, seq) WHERE status = 'accepted';
   CREATE INDEX receptions_by_user_front ON receptions (user_id, front, received_at, seq) WHERE status = 'accepted';
   CREATE INDEX receptions_by_user_lab ON receptions (user_id, lab, received_at, seq) WHERE status = 'accepted';
   CREATE INDEX receptions_by_time ON receptions (received_at, seq);
   CREATE INDEX receptions_undelivered ON receptions (delivered) WHERE delivered = 0;
   CREATE TABLE order_images (
     order_id TEXT NOT NULL,
     sha256   TEXT NOT NULL,
     lab      TEXT NOT NULL,
     PRIMARY KEY (sha256, lab, order_id)
   ) WITHOUT ROWID;
   CREATE TABLE waiting_orders (
     order_id   TEXT PRIMARY KEY,
     user_id    TEXT NOT NULL,
     first_seen INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX waiting_orders_by_user ON waiting_orders (user_id);`,
  // 3: printing history reported by lab nodes, stored once per entry id.
  `CREATE TABLE history (
     id          TEXT PRIMARY KEY,
     lab         TEXT NOT NULL,
     order_id    TEXT NOT NULL,
     item        INTEGER NOT NULL,
     printer     TEXT NOT NULL,
     job         TEXT NOT NULL,
     copies      INTEGER NOT NULL,
     status      TEXT NOT NULL,
     printed_at  INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     user_id     TEXT,
     front       TEXT
   ) WITHOUT ROWID;
   CREATE INDEX history_by_lab ON history (lab, printed_at);
   CREATE INDEX history_by_time ON history (printed_at);
   CREATE INDEX history_by_user ON history (user_id, printed_at);`,
  // 4: admin audit.
  `-- Admin audit: listings by lab, store or customer in reception order; history by store; a lab's
  -- last history; copies printed per lab and day (covering); the log of changes admins make.
  CREATE INDEX receptions_by_lab_time ON receptions (lab, received_at, seq);
  CREATE INDEX receptions_by_front_time ON receptions (front, received_at, seq);
  CREATE INDEX receptions_by_user_time ON receptions (user_id, received_at, seq);
  CREATE INDEX history_by_front ON history (front, printed_at);
  CREATE INDEX history_by_lab_received ON history (lab, received_at);
  CREATE INDEX history_prints ON history (lab, printed_at, copies) WHERE status = 'completed';
  CREATE TABLE admin_audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    admin  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL CHECK (json_valid(detail))
  );
  CREATE INDEX admin_audit_by_time ON admin_audit (at);`,
  // 5: in-store sync (issue 8).
  `-- In-store sync (issue 8): sessions get an id a revocation can name without the token;
  -- sign-outs are listed for lab nodes, which check tokens offline; lab nodes register the
  -- Ed25519 keys they sign in-store receptions with; a reception notes a store stamp and its fate.
  ALTER TABLE sessions ADD COLUMN sid TEXT;
  CREATE UNIQUE INDEX sessions_by_sid ON sessions (sid) WHERE sid IS NOT NULL;
  CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY,
    sid        TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE lab_keys (
    key_id        TEXT PRIMARY KEY,
    lab           TEXT NOT NULL,
    public_key    TEXT NOT NULL CHECK (json_valid(public_key)),
    registered_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  ALTER TABLE receptions ADD COLUMN store_stamp TEXT;`,
  // 6: hardening (issue 13).
  `-- Hardening (issue 13): the lab's progress kept with the reception, so the relay can refuse a
  -- cancel of an order that an order already being printed cites as its previous order without
  -- opening that order; the orders citing one are found by index when it is cancelled.
  ALTER TABLE receptions ADD COLUMN progress TEXT;
  CREATE INDEX receptions_citing ON receptions (discount_order) WHERE discount_order IS NOT NULL;`,
  // 7: order numbers (issue 15). Not released yet: its text may still change until it is.
  `-- Order numbers (issue 15): each accepted order gets a short number, unique per store (front),
  -- counted per store; admins find an order by it (the index leads with the number, which is all
  -- an admin types; the store follows, since two stores may give the same number).
  ALTER TABLE receptions ADD COLUMN number TEXT;
  CREATE UNIQUE INDEX receptions_by_number ON receptions (number, front) WHERE number IS NOT NULL;
  CREATE TABLE order_numbers (
    front TEXT PRIMARY KEY,
    last  INTEGER NOT NULL
  ) WITHOUT ROWID;`,
  // 8: lab presence (issue 15). Not released yet: its text may still change until it is.
  `-- Lab presence (issue 15): when each lab node was last heard from and its printers' states,
  -- kept across relay restarts; with the heartbeat interval it said it keeps, so "online now"
  -- (heard within three intervals) can still be judged after a restart.
  CREATE TABLE lab_presence (
    lab         TEXT PRIMARY KEY,
    last_seen   INTEGER NOT NULL,
    interval_ms INTEGER NOT NULL DEFAULT 10000,
    printers    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(printers))
  ) WITHOUT ROWID;`,
  // 9: two-level discounts, pickup elsewhere, waiting for photos (issue 16). Not released yet.
  `-- Two-level discounts (issue 16): a store's own discount on its fee is kept beside the lab's (JSON,
  -- with the order it cites by index, so a cancel finds the orders citing it either way); the store
  -- the order is collected at; the photos a waiting order still misses, for the admin's listing.
  ALTER TABLE receptions ADD COLUMN front_discount TEXT CHECK (front_discount IS NULL OR json_valid(front_discount));
  ALTER TABLE receptions ADD COLUMN front_discount_order TEXT;
  ALTER TABLE receptions ADD COLUMN pickup_front TEXT;
  CREATE INDEX receptions_citing_front ON receptions (front_discount_order) WHERE front_discount_order IS NOT NULL;
  ALTER TABLE waiting_orders ADD COLUMN missing TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(missing));
  ALTER TABLE waiting_orders ADD COLUMN front TEXT;`,
  // 10: reprints in the history (issue 15). Not released yet: its text may still change until it is.
  `-- Reprints (issue 15): a print the lab's operator asked for again is kept as such, with the reason
  -- they gave (bounded as the relay cuts it, shared/audit.ts MAX_REPRINT_REASON), so the audit tells
  -- paper printed again from an order's own prints; a partial index holds only the reprints, for the
  -- daily figure and the listing's reprint filter.
  ALTER TABLE history ADD COLUMN reprint INTEGER NOT NULL DEFAULT 0 CHECK (reprint IN (0, 1));
  ALTER TABLE history ADD COLUMN reason TEXT CHECK (reason IS NULL OR length(reason) <= 200);
  CREATE INDEX history_reprints ON history (lab, printed_at) WHERE reprint = 1;`,
  // 11: discount amounts as columns (issue 18). Not released yet: its text may still change until it is.
  `-- Discounts applied as columns (issue 18): what the lab's and the store's discount lines of a receipt
  -- took off (positive, 0 for none; a line without \`by\` is the lab's), so the receipts' totals and
  -- the daily figures sum columns instead of opening every matching receipt's lines. Kept by triggers
  -- on every write of \`lines\` (a reception recorded, an order repriced), whoever writes it. The sums
  -- (totals, and the daily report's orders with the decisions they count) read only accepted
  -- receptions, by covering indexes for the usual filters (none, a period, a lab, a store): a narrow
  -- index range instead of every matching row of the table (20 ms instead of 1-2 s at 200,000).
  ALTER TABLE receptions ADD COLUMN lab_discount_amount INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE receptions ADD COLUMN front_discount_amount INTEGER NOT NULL DEFAULT 0;
  ${discountColumnsUpdate('receptions')}
  CREATE INDEX receptions_totals ON receptions (received_at, total, lab_discount_amount, front_discount_amount, discount_order, front_discount_order) WHERE status = 'accepted';
  CREATE INDEX receptions_totals_by_lab ON receptions (lab, received_at, total, lab_discount_amount, front_discount_amount, discount_order, front_discount_order) WHERE status = 'accepted';
  CREATE INDEX receptions_totals_by_front ON receptions (front, received_at, total, lab_discount_amount, front_discount_amount, discount_order, front_discount_order) WHERE status = 'accepted';
  CREATE TRIGGER receptions_discounts_recorded AFTER INSERT ON receptions BEGIN
    ${discountColumnsUpdate('receptions', 'seq = NEW.seq')}
  END;
  CREATE TRIGGER receptions_discounts_repriced AFTER UPDATE OF lines ON receptions BEGIN
    ${discountColumnsUpdate('receptions', 'seq = NEW.seq')}
  END;`,
]
