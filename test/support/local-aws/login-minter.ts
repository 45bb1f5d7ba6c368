// Makes minted Redshift credentials real: on GetClusterCredentials / GetCredentials the endpoint
// creates or updates the login role (`IAM:awsuser`) in a real PostgreSQL that stands in for the
// cluster, with the minted password VALID UNTIL the expiration, so that a login with an expired
// token really fails. The password is sent already hashed (an MD5 or SCRAM verifier), so it never
// appears in the stand-in's statement text or logs.
// Unlike Redshift, a PostgreSQL role has one password: minting again for the same user replaces
// the previous password (sessions already logged in keep running).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

export interface LoginMintRequest {
  /** The role to log in as, with its prefix (IAM:awsuser, IAMR:rolename). */
  readonly role: string;
  readonly password: string;
  readonly validUntil: Date;
  /** Granted CONNECT when it exists in the stand-in. */
  readonly database?: string;
  /** Existing roles the login joins (GetClusterCredentials DbGroups). */
  readonly groups?: readonly string[];
}

export interface LoginMinter {
  mint(request: LoginMintRequest): Promise<void>;
  close(): Promise<void>;
}

export type PasswordEncryption = 'md5' | 'scram-sha-256';

export class PostgresLoginMinter implements LoginMinter {
  private client: Promise<pg.Client> | undefined;

  /** `connect` opens a superuser connection to the stand-in (TestPostgres.connect). */
  constructor(
    private readonly connect: () => Promise<pg.Client>,
    private readonly encryption: PasswordEncryption = 'md5',
  ) {}

  async mint(request: LoginMintRequest): Promise<void> {
    // One connection runs the statements in order, so concurrent mints of one role cannot race
    // between CREATE and ALTER.
    const client = await this.superuser();
    const role = client.escapeIdentifier(request.role);
    const verifier = client.escapeLiteral(passwordVerifier(this.encryption, request.role, request.password));
    const validUntil = client.escapeLiteral(request.validUntil.toISOString());
    try {
      await client.query(`CREATE ROLE ${role} LOGIN PASSWORD ${verifier} VALID UNTIL ${validUntil}`);
    } catch (error) {
      if ((error as { code?: string }).code !== '42710') throw error;
      await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${verifier} VALID UNTIL ${validUntil}`);
    }
    if (request.database !== undefined) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [request.database]);
      if (exists.rowCount === 1) await client.query(`GRANT CONNECT ON DATABASE ${client.escapeIdentifier(request.database)} TO ${role}`);
    }
    for (const group of request.groups ?? []) await client.query(`GRANT ${client.escapeIdentifier(group)} TO ${role}`);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await (await client.catch(() => undefined))?.end().catch(() => undefined);
  }

  private superuser(): Promise<pg.Client> {
    if (this.client === undefined) {
      const opening = this.connect().then((client) => {
        // A stand-in restart drops the connection: open a new one on the next mint.
        client.on('error', () => {
          if (this.client === opening) this.client = undefined;
        });
        client.on('end', () => {
          if (this.client === opening) this.client = undefined;
        });
        return client;
      });
      opening.catch(() => {
        if (this.client === opening) this.client = undefined;
      });
      this.client = opening;
    }
    return this.client;
  }
}

/** What PostgreSQL stores for a password: `md5` + md5(password + role), or a SCRAM-SHA-256 verifier. */
export function passwordVerifier(encryption: PasswordEncryption, role: string, password: string): string {
  if (encryption === 'md5') return `md5${createHash('md5').update(password + role).digest('hex')}`;
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
