// The little DER that certificate building needs beyond node-forge: reading the top-level parts
// of a certificate or key (to copy a name or a public key byte for byte) and wrapping parts in a
// SEQUENCE or BIT STRING. Copying bytes rather than re-encoding through forge means an issuer
// name in a leaf is exactly the root's subject, which is what chain building compares.

export interface Tlv {
  readonly tag: number;
  /** The whole element: tag, length and contents. */
  readonly der: Buffer;
  /** The contents only. */
  readonly contents: Buffer;
}

/** The element at `offset` of `buf`; throws on a truncated or indefinite-length element. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new Error('DER: truncated element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not used in certificates');
  let length = buf[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new Error('DER: unsupported length');
    if (offset + 2 + bytes > buf.length) throw new Error('DER: truncated length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[offset + 2 + i]!;
    header += bytes;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Error('DER: element longer than its container');
  return { tag, der: buf.subarray(offset, end), contents: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed element (a SEQUENCE, SET or explicit tag). */
export function children(element: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < element.contents.length; at += out[out.length - 1]!.der.length) {
    out.push(readTlv(element.contents, at));
  }
  return out;
}

function withHeader(tag: number, contents: Buffer): Buffer {
  const n = contents.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, contents]);
}

export const sequence = (...parts: Buffer[]): Buffer => withHeader(0x30, Buffer.concat(parts));

/** A BIT STRING of whole bytes (a signature): no unused bits. */
export const bitString = (bytes: Buffer): Buffer => withHeader(0x03, Buffer.concat([Buffer.from([0]), bytes]));

/** The parts of a TBSCertificate by name, from a whole certificate's DER. */
export function tbsParts(certDer: Buffer): { tbs: Tlv; issuer: Tlv; subject: Tlv; spki: Tlv } {
  const certificate = readTlv(certDer);
  const [tbs] = children(certificate);
  if (!tbs) throw new Error('DER: not a certificate');
  const parts = children(tbs);
  // v1 certificates have no [0] version; every certificate made here is v3.
  const at = parts[0]?.tag === 0xa0 ? 1 : 0;
  const [, , issuer, , subject, spki] = parts.slice(at);
  if (!issuer || !subject || !spki) throw new Error('DER: certificate too short');
  return { tbs, issuer, subject, spki };
}
