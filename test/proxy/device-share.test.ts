// Which device a connection belongs to, for the limits counted per device.
import { describe, expect, it } from 'vitest';
import { deviceKey } from '../../src/identity/networks.js';
import { DeviceShare } from '../../src/proxy/device-share.js';

describe('deviceKey', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    // Another privacy address of the same device: the same key.
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s → %s', (address, key) => {
    expect(deviceKey(address)).toBe(key);
  });
});

describe('DeviceShare', () => {
  it('gives a device its share of each site, and takes it back', () => {
    let limit = 2;
    const shares = new DeviceShare(() => limit);
    const first = shares.take('a', 'http://x');
    expect(first).not.toBeNull();
    expect(shares.take('a', 'http://x')).not.toBeNull();
    expect(shares.take('a', 'http://x')).toBeNull();
    expect(shares.take('b', 'http://x')).not.toBeNull();
    expect(shares.take('a', 'http://y')).not.toBeNull();
    shares.release(first!);
    expect(shares.take('a', 'http://x')).not.toBeNull();
    // A reload that raises the share takes effect at once.
    limit = 3;
    expect(shares.take('a', 'http://x')).not.toBeNull();
  });
});
