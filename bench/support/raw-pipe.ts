import { connect, type Socket } from 'node:net';

/**
 * A bare RESP connection for seeding large keyspaces fast (the way
 * `redis-cli --pipe` does): commands are encoded straight into large
 * writes, and replies are only counted. Only for commands whose replies are
 * one line (integers, +OK); an error reply fails the flush.
 */
export class RawPipe {
  private pending = '';
  private sent = 0;
  private received = 0;
  private lineStart = true;
  private error?: Error;
  private waiter?: () => void;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (error) => {
      this.error = error;
      this.waiter?.();
    });
  }

  static async open(port: number, db: number): Promise<RawPipe> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const pipe = new RawPipe(socket);
    pipe.command('SELECT', String(db));
    await pipe.flush();
    return pipe;
  }

  /** Queues one command. Arguments must be ASCII or UTF-8 strings. */
  command(...args: string[]): void {
    this.encoded(encode(args));
  }

  /** Queues one command already encoded as RESP (see encode()). */
  encoded(resp: string): void {
    this.pending += resp;
    this.sent++;
  }

  /** Writes what is queued when it is large; call often while queueing. */
  async maybeWrite(threshold = 1 << 20): Promise<void> {
    if (this.pending.length >= threshold) await this.write();
    // Keep the number of unanswered commands bounded, so replies do not pile up in Redis.
    if (this.sent - this.received > 200_000) await this.until(this.sent - 100_000);
  }

  /** Writes everything queued and waits for every reply. */
  async flush(): Promise<void> {
    await this.write();
    await this.until(this.sent);
  }

  close(): void {
    this.socket.destroy();
  }

  private async write(): Promise<void> {
    if (!this.pending) return;
    const chunk = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    this.socket.write(chunk);
    // Keep generating while Redis reads; wait only when a lot is buffered.
    if (this.socket.writableLength > 16 << 20) await new Promise<void>((resolve) => this.socket.once('drain', resolve));
  }

  private until(count: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.error) return reject(this.error);
        if (this.received >= count) return resolve();
        this.waiter = check;
      };
      check();
    });
  }

  private onData(data: Buffer): void {
    // Every reply is one line: count line ends, and look at the first byte of each line for an error.
    let at = 0;
    for (;;) {
      if (this.lineStart && at < data.length && data[at] === 45 /* '-' */ && !this.error) {
        const end = data.indexOf(10, at);
        this.error = new Error(`Redis replied ${data.toString('latin1', at, end < 0 ? data.length : end).trim()}`);
      }
      const end = data.indexOf(10, at);
      if (end < 0) {
        this.lineStart = at >= data.length;
        break;
      }
      this.received++;
      at = end + 1;
      this.lineStart = true;
    }
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** RESP encoding of one command. */
export function encode(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/** RESP of one bulk string (a piece of a command being assembled by hand). */
export function bulk(arg: string): string {
  return `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
}
