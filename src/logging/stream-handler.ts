// stream handler: stdout or stderr (the seed's "ext://sys.stdout" / "ext://sys.stderr").
import type { LogHandler } from './hub.js';
import { format, type FormatterName, type LogRecord } from './record.js';

export class StreamHandler implements LogHandler {
  readonly type = 'stream';
  constructor(
    readonly level: number,
    readonly formatter: FormatterName,
    private readonly out: NodeJS.WritableStream,
  ) {}

  handle(record: LogRecord): void {
    this.out.write(`${format(this.formatter, record)}\n`);
  }

  async close(): Promise<void> {}
}

export function streamTarget(name: string): NodeJS.WritableStream {
  return /stderr$/.test(name) ? process.stderr : process.stdout;
}
