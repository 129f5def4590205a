// Local ports for the forwards: the lowest ports of the configured range that
// no userjob Service names, that this process has not reserved, and that
// nothing on this host listens on.
import net from 'node:net';

/** True when `address:port` can be bound now, i.e. nothing listens there. */
export function isPortFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export class PortAllocator {
  readonly #reserved = new Set<number>();

  constructor(
    private readonly range: () => readonly [number, number],
    private readonly bindAddress: () => string,
    private readonly probe: (address: string, port: number) => Promise<boolean> = isPortFree,
  ) {}

  /** Reserves `count` ports; `used` are the ports the cluster's userjobs hold. Throws when the range is exhausted. */
  async reserve(count: number, used: Iterable<number>): Promise<number[]> {
    const taken = new Set<number>(used);
    const chosen: number[] = [];
    const [from, to] = this.range();
    for (let p = from; p <= to && chosen.length < count; p++) {
      if (taken.has(p) || this.#reserved.has(p)) continue;
      this.#reserved.add(p); // before the await: concurrent calls skip it
      if (await this.probe(this.bindAddress(), p)) chosen.push(p);
      else this.#reserved.delete(p);
    }
    if (chosen.length < count) {
      this.release(chosen);
      throw new Error(`no free local port left in ${from}-${to}`);
    }
    return chosen;
  }

  release(ports: Iterable<number>): void {
    for (const p of ports) this.#reserved.delete(p);
  }
}
