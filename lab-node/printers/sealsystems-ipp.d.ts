// Minimal types for @sealsystems/ipp 2.8 (it ships none): only what lab-node/printers/ipp.ts uses.
declare module '@sealsystems/ipp' {
  /** One attribute group: attribute name → value, or an array for a 1setOf with several values. */
  export type IppGroup = Record<string, unknown>

  /** A request or a parsed reply; a group that occurs several times (one per job) is an array. */
  export interface IppMessage {
    version?: string
    operation?: string
    /** On replies: the IPP status name, e.g. `successful-ok`, `client-error-not-found`. */
    statusCode?: string
    id?: number
    'operation-attributes-tag'?: IppGroup
    'job-attributes-tag'?: IppGroup | IppGroup[]
    'printer-attributes-tag'?: IppGroup | IppGroup[]
    'unsupported-attributes-tag'?: IppGroup | IppGroup[]
    data?: Buffer
  }

  export interface PrinterOptions {
    /** Socket idle timeout in ms; default 60 000. */
    timeout?: number
    agent?: import('node:http').Agent
    uri?: string
    version?: string
    charset?: string
    language?: string
    auth?: string
  }

  export interface IppPrinterClient {
    /** IPP errors arrive as a successful callback: check `statusCode`. */
    execute(operation: string, msg: IppMessage, cb: (err: (Error & { code?: string }) | null, res: IppMessage) => void): void
  }

  const ipp: {
    Printer(url: string, opts?: PrinterOptions): IppPrinterClient
    parse(buf: Buffer): IppMessage
    serialize(msg: IppMessage): Buffer
  }
  export default ipp
}
