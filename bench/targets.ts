// Starts what the benchmark compares, all on loopback: a PostgreSQL with TLS (the "direct"
// target, verify-full with a password), PgBouncer in front of it when installed, and Gatehouse
// in front of it (its clients verify-full with a certificate from Gatehouse's user CA). Fills the
// pgbench tables once, directly, and stops everything again in reverse order.
import { GatehouseProcess } from './gatehouse-process.js';
import type { LoadGenerator, Target } from './load.js';
import { pgLoadGenerator } from './pg-load.js';
import { findPgbench, pgbenchGenerator } from './pgbench.js';
import { findPgBouncer, startPgBouncer, type PgBouncer } from './pgbouncer.js';
import { startBenchPostgres, type BenchPostgres } from './postgres.js';
import { PGBENCH_SCALE } from './options.js';

export interface Targets {
  readonly list: readonly Target[];
  readonly direct: Target;
  readonly postgres: BenchPostgres;
  readonly gatehouse: GatehouseProcess;
  readonly generator: LoadGenerator;
  readonly versions: { readonly postgres: string; readonly pgbouncer?: string };
  /** Things the report should say, e.g. that PgBouncer was not found. */
  readonly notes: readonly string[];
  stop(): Promise<void>;
}

export interface TargetOptions {
  readonly forcePgLoad: boolean;
  readonly withPgBouncer: boolean;
  /** Extra node flags for Gatehouse (profile.ts passes --cpu-prof). */
  readonly gatehouseNodeFlags?: readonly string[];
  readonly log: (line: string) => void;
}

/** Table COPY IN writes to: pgbench_accounts' columns, unlogged and without indexes. */
export const COPY_IN_TABLE = 'bench_copy_in';

export async function startTargets(options: TargetOptions): Promise<Targets> {
  const { log } = options;
  const notes: string[] = [];
  const stoppers: Array<() => Promise<void>> = [];
  // Once only, however often it is called (an interrupt and the runner's own clean-up may overlap).
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const stop of [...stoppers].reverse()) await stop().catch((error: unknown) => log(`stopping: ${String(error)}`));
    })());
  try {
    let started = performance.now();
    const postgres = await startBenchPostgres();
    stoppers.push(() => postgres.stop());
    const version = String((await postgres.sql('SHOW server_version')).rows[0]?.server_version ?? '?');
    log(`PostgreSQL ${version} on 127.0.0.1:${postgres.port} (${seconds(started)})`);
    const direct: Target = {
      name: 'direct',
      label: 'direct TLS',
      libpqEnv: { ...libpqBase(postgres.port), PGPASSWORD: postgres.password, PGSSLMODE: 'verify-full', PGSSLROOTCERT: postgres.caFile },
      pgConfig: { host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'postgres', password: postgres.password, ssl: { ca: postgres.ca.certPem } },
    };

    const pgbench = options.forcePgLoad ? undefined : findPgbench();
    if (options.forcePgLoad) notes.push('--pg-load: the built-in node-postgres load generator drove the load, not pgbench.');
    else if (pgbench === undefined) notes.push('pgbench was not found on the PATH: the built-in node-postgres load generator drove the load.');
    const generator = pgbench === undefined ? pgLoadGenerator() : await pgbenchGenerator(pgbench);
    started = performance.now();
    await generator.initialise(direct, PGBENCH_SCALE);
    await postgres.sql(`CREATE UNLOGGED TABLE ${COPY_IN_TABLE} (aid int, bid int, abalance int, filler char(84))`);
    log(`pgbench tables at scale ${PGBENCH_SCALE} filled by ${generator.name} (${seconds(started)})`);

    started = performance.now();
    const gatehouse = await GatehouseProcess.start({
      dir: postgres.dir,
      postgresPort: postgres.port,
      dbCaFile: postgres.caFile,
      password: postgres.password,
      nodeFlags: options.gatehouseNodeFlags,
    });
    stoppers.push(() => gatehouse.stop());
    log(`Gatehouse (pid ${gatehouse.pid}) on 127.0.0.1:${gatehouse.port} (${seconds(started)})`);
    const gatehouseTarget: Target = {
      name: 'gatehouse',
      label: 'Gatehouse',
      libpqEnv: { ...libpqBase(gatehouse.port), PGSSLMODE: 'verify-full', PGSSLROOTCERT: gatehouse.client.caFile, PGSSLCERT: gatehouse.client.certFile, PGSSLKEY: gatehouse.client.keyFile },
      pgConfig: {
        host: '127.0.0.1',
        port: gatehouse.port,
        user: 'postgres',
        database: 'postgres',
        ssl: { ca: gatehouse.client.caPem, cert: gatehouse.client.certPem, key: gatehouse.client.keyPem },
      },
      proxyPid: gatehouse.pid,
    };

    let bouncerTarget: Target | undefined;
    let bouncer: PgBouncer | undefined;
    const binary = options.withPgBouncer ? findPgBouncer() : undefined;
    if (options.withPgBouncer && binary === undefined) notes.push('pgbouncer was not found (PATH, /usr/sbin, /usr/local/sbin): the PgBouncer column is empty.');
    if (binary !== undefined) {
      started = performance.now();
      const secret = String((await postgres.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")).rows[0]?.rolpassword ?? '');
      const running = await startPgBouncer(binary, { dir: postgres.dir, postgresPort: postgres.port, dbCaFile: postgres.caFile, ca: postgres.ca, user: 'postgres', scramSecret: secret });
      bouncer = running;
      stoppers.push(() => running.stop());
      log(`${running.version} (pid ${running.pid}) on 127.0.0.1:${running.port}, session mode (${seconds(started)})`);
      bouncerTarget = {
        name: 'pgbouncer',
        label: running.version,
        libpqEnv: { ...libpqBase(running.port), PGPASSWORD: postgres.password, PGSSLMODE: 'verify-full', PGSSLROOTCERT: postgres.caFile },
        pgConfig: { ...direct.pgConfig, port: running.port },
        proxyPid: running.pid,
      };
    }
    const list = [direct, ...(bouncerTarget === undefined ? [] : [bouncerTarget]), gatehouseTarget];
    return { list, direct, postgres, gatehouse, generator, versions: { postgres: version, pgbouncer: bouncer?.version }, notes, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function libpqBase(port: number): Record<string, string> {
  return {
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: 'postgres',
    PGDATABASE: 'postgres',
    // No GSSAPI probe before TLS: only TLS is compared.
    PGGSSENCMODE: 'disable',
    PGAPPNAME: 'gatehouse-bench',
  };
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}
