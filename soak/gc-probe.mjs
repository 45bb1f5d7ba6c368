// Loaded into every Gatehouse process by the soak (NODE_OPTIONS="--expose-gc --import …/gc-probe.mjs"),
// never by Gatehouse itself. On SIGUSR2 it runs a full garbage collection and writes the process's
// memory to GATEHOUSE_SOAK_PROBE_DIR/PID.json, so the soak compares like with like before and after
// its load: live heap and RSS once garbage is gone, not whenever V8 last collected. When the file
// `mode` there says "snapshot", it also writes a heap snapshot (PID.heapsnapshot) first.
// Plain JavaScript, because Gatehouse runs from dist/ without a TypeScript loader.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const { process, setImmediate } = globalThis;
const dir = process.env.GATEHOUSE_SOAK_PROBE_DIR;
const gc = globalThis.gc;

function readMode() {
  try {
    return readFileSync(join(dir, 'mode'), 'utf8').trim();
  } catch {
    return 'gc';
  }
}

if (dir !== undefined && typeof gc === 'function') {
  process.on('SIGUSR2', () => {
    // Several passes with turns of the event loop between them, so weak callbacks and finalizers run.
    let passes = 0;
    const collect = () => {
      gc();
      if (++passes < 3) return setImmediate(collect);
      if (readMode() === 'snapshot') writeHeapSnapshot(join(dir, `${process.pid}.heapsnapshot`));
      const file = join(dir, `${process.pid}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, ...process.memoryUsage() }));
      renameSync(`${file}.tmp`, file);
    };
    collect();
  });
}
