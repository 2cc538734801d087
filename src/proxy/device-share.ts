// One device's share of a site's upstream connections. The relay pools a fixed number of
// connections per origin; without a share, one device that holds its requests open (slow bodies,
// endless downloads) can take them all and stall that site for the whole school.

export class DeviceShare {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit: () => number) {}

  /** Takes one of `device`'s places at `origin`: the place to release, or null when it already holds its share. */
  take(device: string, origin: string): string | null {
    const key = `${device} ${origin}`;
    const n = this.open.get(key) ?? 0;
    if (n >= this.limit()) return null;
    this.open.set(key, n + 1);
    return key;
  }

  release(place: string): void {
    const n = (this.open.get(place) ?? 1) - 1;
    if (n <= 0) this.open.delete(place);
    else this.open.set(place, n);
  }
}
