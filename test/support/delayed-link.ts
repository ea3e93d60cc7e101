import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP link to 127.0.0.1:targetPort that holds everything the target sends
 * for `delayMs` before passing it on (what the other side sends goes at
 * once). A replica that replicates through it receives its primary's stream
 * that much late, as over a slow network, so asynchronous replication has
 * writes in flight whenever the primary is busy. When the target's side
 * closes, whatever the link still holds is dropped with it: the primary's
 * machine died, and the writes on the wire with it.
 */
export class DelayedLink {
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((near) => this.pipe(near));
  port = 0;

  private constructor(
    private readonly targetPort: number,
    private readonly delayMs: number,
  ) {}

  static async open(targetPort: number, delayMs: number): Promise<DelayedLink> {
    const link = new DelayedLink(targetPort, delayMs);
    await new Promise<void>((resolve, reject) => {
      link.server.once('error', reject);
      link.server.listen(0, '127.0.0.1', () => resolve());
    });
    link.port = (link.server.address() as { port: number }).port;
    return link;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private pipe(near: Socket): void {
    const far = connect(this.targetPort, '127.0.0.1');
    const held = new Set<NodeJS.Timeout>();
    const drop = () => {
      for (const timer of held) clearTimeout(timer);
      held.clear();
      near.destroy();
      far.destroy();
    };
    for (const socket of [near, far]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('close', drop);
      socket.on('error', drop);
    }
    near.on('data', (chunk) => far.write(chunk));
    // Timers of one duration fire in the order they were set, so the stream keeps its order.
    far.on('data', (chunk) => {
      const timer = setTimeout(() => {
        held.delete(timer);
        near.write(chunk);
      }, this.delayMs);
      held.add(timer);
    });
  }
}
