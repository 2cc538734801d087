// Sends an object made of class instances from a worker thread and gets the same object back on
// the other side. postMessage copies a class instance as a plain object (its methods are on a
// prototype it does not send), copies typed arrays unless their buffers are transferred, and
// refuses functions. So the sender lists each class instance in the graph with its class, and
// every ArrayBuffer to transfer; the receiver gives each instance its prototype back. The
// instances keep their identity (structured clone keeps shared references), so nothing is
// rebuilt: the receiver's cost is the clone's own, mostly the number of small objects.
//
// Only the classes named may appear, and no functions, Buffers or other host objects: anything
// else is refused by name on the sending side, so a class added to the graph later is caught
// by the first build, not by a matcher that has lost its methods. Fields written as `#private`
// cannot be seen or sent; the classes sent must not have them.

/** A class whose instances may be sent; only its prototype is used. */
export type Sendable = abstract new (...args: never[]) => unknown;

/** What goes with the root object in the message. */
export interface Packed {
  /** Each class instance in the graph, with its index in the classes given. */
  readonly instances: readonly (readonly [object, number])[];
}

const TYPED_ARRAY_PROTOTYPES: ReadonlySet<object> = new Set([
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
].map((c) => c.prototype));

/**
 * The instances of `classes` in the graph from `root` and the buffers to transfer (every
 * ArrayBuffer under it: after the message the sender can no longer use them). Throws, naming
 * the path, at anything postMessage would not give back as it is.
 */
export function pack(root: object, classes: readonly Sendable[]): { packed: Packed; transfer: ArrayBuffer[] } {
  const protos = classes.map((c) => c.prototype as object);
  const instances: (readonly [object, number])[] = [];
  const buffers = new Set<ArrayBuffer>();
  const seen = new Set<unknown>();
  // Depth first with an explicit stack: the graph has arrays of thousands of entries.
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'function') throw new TypeError(`${path || 'the root'} is a function, which cannot be sent from a worker`);
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    const proto = Object.getPrototypeOf(value) as object | null;
    if (value instanceof ArrayBuffer) {
      buffers.add(value);
    } else if (ArrayBuffer.isView(value)) {
      if (!TYPED_ARRAY_PROTOTYPES.has(proto!)) throw new TypeError(`${path} is a ${proto?.constructor.name ?? 'view'}, which would arrive as another kind of array`);
      if (value.buffer instanceof ArrayBuffer) buffers.add(value.buffer);
    } else if (Array.isArray(value)) {
      if (proto !== Array.prototype) throw new TypeError(`${path} is an array of a class of its own`);
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`]);
    } else if (value instanceof Map) {
      for (const [k, v] of value) stack.push([k, `${path} key`], [v, `${path}.get(${String(k)})`]);
    } else if (value instanceof Set) {
      for (const v of value) stack.push([v, `${path} member`]);
    } else if (value instanceof RegExp) {
      if (value.lastIndex !== 0) throw new TypeError(`${path} is a RegExp part-way through a search (lastIndex is not sent)`);
    } else {
      if (proto !== Object.prototype && proto !== null) {
        const index = protos.indexOf(proto);
        if (index < 0) throw new TypeError(`${path || 'the root'} is a ${proto.constructor.name}, which is not among the classes that may be sent`);
        instances.push([value, index]);
      }
      for (const key of Reflect.ownKeys(value)) {
        if (typeof key === 'symbol') throw new TypeError(`${path}[${String(key)}]: a symbol key is not sent`);
        const d = Object.getOwnPropertyDescriptor(value, key)!;
        if (d.get || d.set) throw new TypeError(`${path}.${key} is an accessor, which is not sent`);
        if (!d.enumerable) throw new TypeError(`${path}.${key} is not enumerable, so it would not be sent`);
        stack.push([d.value, `${path}.${key}`]);
      }
    }
  }
  return { packed: { instances }, transfer: [...buffers] };
}

/** On the receiving side: gives each instance packed its class back. `classes` as given to pack(). */
export function unpack<T>(root: unknown, packed: Packed, classes: readonly Sendable[]): T {
  for (const [value, index] of packed.instances) Object.setPrototypeOf(value, classes[index]!.prototype as object);
  return root as T;
}
