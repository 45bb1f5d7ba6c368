// `--profile --perf`: Linux perf's view of Gatehouse's CPU, which V8's profiler cannot give. V8
// sees a socket write as one native call. perf splits the same time into the kernel's TCP path,
// OpenSSL, V8's runtime and garbage collector, node's C++ stream glue, malloc, and JIT-compiled
// JavaScript, so it shows which layer a change has to shrink. It needs `perf` and permission to
// profile the process (root, or kernel.perf_event_paranoid <= 1).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findPerf(): string | undefined {
  for (const directory of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (directory === '') continue;
    try {
      accessSync(join(directory, 'perf'), constants.X_OK);
      return join(directory, 'perf');
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Samples the process (all its threads, with call graphs) for `seconds`. */
export function recordPerf(perf: string, pid: number, seconds: number, outFile: string): Promise<void> {
  return command(perf, ['record', '-F', '999', '-g', '-p', String(pid), '-o', outFile, '--', 'sleep', String(seconds)]).then(() => undefined);
}

/** Self time by layer and the top symbols, from `perf report`. */
export async function perfBreakdown(perf: string, dataFile: string, top: number): Promise<string> {
  const report = await command(perf, ['report', '-i', dataFile, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none']);
  const layers = new Map<string, number>();
  const symbols: { share: number; name: string }[] = [];
  for (const line of report.split('\n')) {
    // The shared object may contain spaces ("[JIT] tid 1234"); the symbol follows [.] or [k].
    const match = /^\s*([\d.]+)%\s+(.+?)\s+\[([.k])\]\s+(.*)$/.exec(line);
    if (match === null) continue;
    const share = Number(match[1]);
    const dso = match[2] as string;
    const symbol = (match[4] as string).trim();
    const layer = layerOf(dso, symbol);
    layers.set(layer, (layers.get(layer) ?? 0) + share);
    symbols.push({ share, name: `${symbol}  [${layer}]` });
  }
  const percent = (share: number) => `${share.toFixed(1).padStart(5)}%`;
  return [
    'CPU by layer (perf, all of Gatehouse\'s threads, user and kernel):',
    ...[...layers.entries()].sort((a, b) => b[1] - a[1]).map(([layer, share]) => `  ${percent(share)}  ${layer}`),
    '',
    `Top ${top} symbols by self time:`,
    ...symbols.sort((a, b) => b.share - a.share).slice(0, top).map((symbol) => `  ${percent(symbol.share)}  ${symbol.name}`),
  ].join('\n');
}

function layerOf(dso: string, symbol: string): string {
  if (dso === '[kernel.kallsyms]') return 'kernel (TCP loopback, syscalls, scheduling)';
  if (dso.startsWith('[JIT]')) return 'JIT-compiled JavaScript';
  if (dso.startsWith('libc')) return /malloc|free|_int_|chunk|consolidate|tcache/.test(symbol) ? 'malloc/free' : 'libc (memcpy, syscall stubs)';
  if (dso === 'node' || dso.endsWith('/node')) {
    if (symbol.startsWith('Builtins_') || symbol.includes('v8::')) return 'V8 runtime, builtins and GC';
    if (symbol.startsWith('node::')) return 'node C++ (streams, TLSWrap, callbacks)';
    if (symbol.startsWith('uv_') || symbol.startsWith('uv__')) return 'libuv';
    if (/^(aesni|gcm|ghash|sha|ssl|SSL|tls|EVP|evp|ossl|OSSL|CRYPTO|BIO|bio|do_ssl|RECORD|WPACKET|PACKET|BN_|bn_|EC_|ecp|x25519|RSA|rsa|HMAC|ASN1|asn1|X509|OBJ|ERR|generic_aes|bread|bwrite)/.test(symbol)) {
      return 'OpenSSL (linked into node)';
    }
    return 'node binary, other';
  }
  return dso;
}

function command(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${binary} ${args[0] ?? ''} exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`))));
  });
}
