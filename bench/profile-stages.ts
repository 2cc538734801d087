// Reads a V8 CPU profile (BENCH_PROFILE of bench/proxy.ts or bench/alerts.ts) and prints, for the
// samples in a window, the time by stage of the proxy (inclusive: a sample counts for every stage
// on its stack, so stages overlap) and the functions with the most self time. Samples under list
// loading are left out, and idle ones counted apart.
//
//   node --import tsx bench/profile-stages.ts FILE.cpuprofile [FROM_S TO_S]
//   FROM_FIRST=serveRequest node --import tsx bench/profile-stages.ts FILE.cpuprofile
//   SEGMENTS=1 node --import tsx bench/profile-stages.ts FILE.cpuprofile    the busy stretches, to pick a window
//
// FROM_S and TO_S are seconds from the profile's start; FROM_FIRST starts at the first sample
// whose stack holds that function; TOP (default 25) is how many functions are listed.
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }

const [file, from = '0', to = '1e9'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-stages.ts FILE.cpuprofile [FROM_S TO_S]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const short = (u: string): string => u.replace(/^file:\/\/.*?\/(src|bench)\//, '$1/').replace(/^.*node_modules\//, 'nm/');
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const stack = (leaf: number): ProfileNode[] => {
  const out: ProfileNode[] = [];
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) out.push(byId.get(id)!);
  return out;
};
// Sample times: the profile stores the gaps between samples.
const at: number[] = [];
let t = p.startTime;
for (const d of p.timeDeltas) at.push((t += d));

if (process.env.SEGMENTS) {
  // Seconds in which more than 15 % of the samples were busy, joined into stretches.
  const busy = new Map<number, number>();
  const all = new Map<number, number>();
  p.samples.forEach((id, i) => {
    const s = Math.floor((at[i]! - p.startTime) / 1e6);
    all.set(s, (all.get(s) ?? 0) + 1);
    if (byId.get(id)!.callFrame.functionName !== '(idle)') busy.set(s, (busy.get(s) ?? 0) + 1);
  });
  const stretches: string[] = [];
  let open: [number, number] | null = null;
  for (let s = 0; s <= Math.max(...all.keys()); s++) {
    if ((busy.get(s) ?? 0) / (all.get(s) ?? 1) > 0.15) open = open ? [open[0], s] : [s, s];
    else if (open) [stretches[stretches.length], open] = [`${open[0]}–${open[1] + 1} s`, null];
  }
  if (open) stretches.push(`${open[0]}–${open[1] + 1} s`);
  console.log(`busy stretches: ${stretches.join(', ')}`);
  process.exit(0);
}

const STAGES: [string, RegExp][] = [
  ['HTTP parse and server (_http_server, _http_incoming, parser)', /node:_http_(server|incoming|common)|parserOn|HTTPParser/],
  ['response write (_http_outgoing, writev)', /node:_http_outgoing|writeGeneric|writev/],
  ['identify (src/identity)', /src\/identity\//],
  ['the gate (src/proxy/gate.ts)', /src\/proxy\/gate\.ts/],
  ['classify (src/classify)', /src\/classify\//],
  ['decide (src/policy)', /src\/policy\//],
  ['alerts (src/alerts)', /src\/alerts\//],
  ['forward headers', /forward-headers\.ts/],
  ['relay via undici', /nm\/undici\//],
  ['record (traffic-record.ts, src/store)', /traffic-record\.ts|src\/store\//],
  ['pino', /nm\/pino|nm\/sonic-boom/],
  ["server.ts's own functions", /src\/proxy\/server\.ts/],
  ['CONNECT shell (handleConnect, readHello, joinTunnel, dialTunnel, trackTunnel)', /^(handleConnect|readHello|joinTunnel|dialTunnel|trackTunnel|afterHello|check|onData) .*server\.ts/],
  ['ClientHello parse', /client-hello\.ts/],
  ['judgeConnect / judgeTunnel', /^(judgeConnect|judgeTunnel) /],
  ['stream pipe (internal/streams)', /node:internal\/streams/],
  ['net connect and lookup', /^(internalConnect|lookupAndConnect|connect|Socket\.connect) node:net|destinations\.ts/],
  ['socket close and destroy', /^(destroy|_destroy|onDestroy|emitCloseNT|closeSocketHandle) node:/],
  ['garbage collection', /^\(garbage collector\)/],
];
const LOADING = /src\/lists\/|classify\/build|loadLists|ListService/;

let lo = p.startTime + Number(from) * 1e6;
const hi = p.startTime + Number(to) * 1e6;
const first = process.env.FROM_FIRST;
if (first) {
  const i = p.samples.findIndex((id) => stack(id).some((n) => n.callFrame.functionName === first));
  if (i < 0) throw new Error(`no sample holds ${first}`);
  lo = at[i]!;
}
const self = new Map<string, number>();
const stages = new Map<string, number>();
let busy = 0;
let idle = 0;
let loading = 0;
p.samples.forEach((id, i) => {
  if (at[i]! < lo || at[i]! > hi) return;
  const dt = p.timeDeltas[i + 1] ?? p.timeDeltas[i]!;
  const frames = stack(id).map(label);
  if (frames.some((f) => LOADING.test(f))) return void (loading += dt);
  if (frames[0]!.startsWith('(idle)')) return void (idle += dt);
  busy += dt;
  self.set(frames[0]!, (self.get(frames[0]!) ?? 0) + dt);
  for (const [name, re] of STAGES) if (frames.some((f) => re.test(f))) stages.set(name, (stages.get(name) ?? 0) + dt);
});
const ms = (us: number): string => (us / 1000).toFixed(0);
const pct = (us: number): string => ((100 * us) / busy).toFixed(1);
console.log(`window ${((lo - p.startTime) / 1e6).toFixed(1)} s on: busy ${ms(busy)} ms, idle ${ms(idle)} ms, list loading left out ${ms(loading)} ms`);
console.log('\n| stage (inclusive) | ms | % of busy |\n| --- | ---: | ---: |');
for (const [name] of STAGES) if (stages.has(name)) console.log(`| ${name} | ${ms(stages.get(name)!)} | ${pct(stages.get(name)!)} |`);
console.log('\n| function (self) | ms | % of busy |\n| --- | ---: | ---: |');
for (const [f, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 25))) console.log(`| ${f.replace(/\|/g, '\\|')} | ${ms(us)} | ${pct(us)} |`);
