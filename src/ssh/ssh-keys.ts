// Gatehouse's own SSH key for a bastion: an Ed25519 pair made on first use by
// `gatehouse ssh-key show DB` (private key 0600 in a 0700 directory, in the OpenSSH format both
// ssh2 and OpenSSH read), and read by the daemon each time it connects to the bastion. The daemon
// never makes a key itself: a key nobody put in authorized_keys could only fail, so a missing
// file is an error that says which command makes it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
// ssh2 is CommonJS without named exports Node's ESM loader can detect: take its default export.
import ssh2, { type ParsedKey } from 'ssh2';
import { readPrivateKeyFile } from '../ca/key-files.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';

export interface SshKeyPair {
  /** `ssh-ed25519 AAAA... gatehouse-DB`: the line for the bastion's authorized_keys. */
  readonly publicKeyLine: string;
  readonly privateKeyFile: string;
  /** True when this call generated the pair. */
  readonly created: boolean;
}

/** The comment on the public key line, so that an authorized_keys file says whose key each line is. */
export function sshKeyComment(databaseName: string): string {
  return `gatehouse-${databaseName}`;
}

/** Reads the key pair at `privateKeyFile`, generating it first when the file does not exist. */
export function ensureSshKeyPair(privateKeyFile: string, databaseName: string): SshKeyPair {
  const comment = sshKeyComment(databaseName);
  if (!existsSync(privateKeyFile)) {
    const generated = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    try {
      makeKeyDirectory(privateKeyFile);
      // 'wx': if another process made the key meanwhile, keep its key rather than replace it.
      writeFileSync(privateKeyFile, generated.private, { mode: 0o600, flag: 'wx' });
      // The .pub file beside it is what ssh-copy-id -i and people expect; it holds nothing secret.
      writeFileSync(`${privateKeyFile}.pub`, `${generated.public}\n`, { mode: 0o644 });
      return { publicKeyLine: generated.public, privateKeyFile, created: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw keyFileError(privateKeyFile, databaseName, (error as Error).message);
    }
  }
  const { key } = readSshPrivateKey(privateKeyFile, databaseName);
  return { publicKeyLine: publicKeyLine(key, comment), privateKeyFile, created: false };
}

export interface SshPrivateKey {
  /** The file's text, as ssh2's connect takes it. */
  readonly text: string;
  readonly key: ParsedKey;
}

/** The private key, checked: present, mode 0600, a format ssh2 reads, no passphrase. */
export function readSshPrivateKey(privateKeyFile: string, databaseName: string): SshPrivateKey {
  let text: string;
  try {
    text = readPrivateKeyFile(privateKeyFile);
  } catch (error) {
    const reason = error instanceof GatehouseError ? error.message : String(error);
    throw keyFileError(privateKeyFile, databaseName, reason);
  }
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) {
    const reason = key instanceof Error && /passphrase/i.test(key.message) ? 'it is encrypted with a passphrase, which Gatehouse cannot type' : `it is not a private key ssh2 can read (${key?.message ?? 'empty'})`;
    throw keyFileError(privateKeyFile, databaseName, reason);
  }
  return { text, key };
}

/** `type base64 comment`, the authorized_keys form of a key's public half. */
export function publicKeyLine(key: ParsedKey, comment: string): string {
  return `${key.type} ${key.getPublicSSH().toString('base64')} ${comment}`;
}

function keyFileError(privateKeyFile: string, databaseName: string, reason: string): GatehouseError {
  const missing = /does not exist/.test(reason);
  return new GatehouseError(
    ErrorCodes.SSH_AUTH,
    missing
      ? `Gatehouse's SSH key for the bastion of database "${databaseName}" does not exist yet (${privateKeyFile})`
      : `cannot use Gatehouse's SSH key for the bastion of database "${databaseName}": ${reason}`,
    {
      sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
      hint: missing
        ? `The Gatehouse administrator makes it with "gatehouse ssh-key show ${databaseName}" and adds the line it prints to the bastion's authorized_keys.`
        : `The Gatehouse administrator can fix the file named in ssh_tunnel.private_key_file, or remove it and run "gatehouse ssh-key show ${databaseName}" for a new key.`,
    },
  );
}

/** The key's own directory is 0700 when Gatehouse makes it; directories above it get the usual mode (embedded PostgreSQL may need to traverse data_dir). */
function makeKeyDirectory(privateKeyFile: string): void {
  const directory = dirname(privateKeyFile);
  if (existsSync(directory)) return;
  mkdirSync(dirname(directory), { recursive: true });
  try {
    mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
