// The PostgreSQL that plays a Redshift cluster (or Serverless workgroup) behind the local
// endpoint: a real server from startTestPostgres with TLS, MD5 logins (what Redshift asks clients
// for) and a `dev` database, plus the minter that turns GetClusterCredentials into real logins.
import { startTestPostgres, type TestPostgres } from '../postgres.js';
import { PostgresLoginMinter, type PasswordEncryption } from './login-minter.js';

export interface StandInCluster {
  readonly postgres: TestPostgres;
  readonly minter: PostgresLoginMinter;
  /** Where DescribeClusters / GetWorkgroup say the cluster is: `localhost` matches the stand-in's certificate. */
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StandInOptions {
  /** The databases to create; default ['dev']. */
  readonly databases?: readonly string[];
  /** How minted passwords are stored; md5 (default) makes the stand-in ask for MD5 like Redshift. */
  readonly passwordEncryption?: PasswordEncryption;
}

export async function startStandInCluster(options: StandInOptions = {}): Promise<StandInCluster> {
  // md5 in pg_hba also accepts SCRAM-stored passwords (the superuser's) by SCRAM.
  const postgres = await startTestPostgres({ hba: ['hostssl all all 127.0.0.1/32 md5', 'hostssl all all ::1/128 md5'] });
  for (const database of options.databases ?? ['dev']) await postgres.sql(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  const minter = new PostgresLoginMinter(() => postgres.connect(), options.passwordEncryption ?? 'md5');
  return {
    postgres,
    minter,
    host: 'localhost',
    port: postgres.port,
    async stop() {
      await minter.close();
      await postgres.stop();
    },
  };
}
