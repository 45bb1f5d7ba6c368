// The strict schema of gatehouse.yaml: what each key may hold, its default, and how durations and
// paths become `*_ms` numbers and absolute paths. Its output is exactly GatehouseConfig (proved at
// the bottom). Rules that span several fields (unique names, kind vs uri) live in cross-checks.ts,
// which runs even when this schema fails, so one run reports every problem.
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { parseHostPort } from './address.js';
import {
  DEFAULT_AWS_CREDENTIAL_DURATION,
  DEFAULT_CLIENT_IDLE_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DATA_DIR,
  DEFAULT_LOGIN_LOCKOUT,
  DEFAULT_LOGIN_MAX_FAILURES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_POSTGRES_LISTEN_ADDR,
  DEFAULT_POSTGRES_PORT,
  DEFAULT_PUBLIC_ADDR,
  DEFAULT_SHUTDOWN_GRACE,
  DEFAULT_SSH_KEEPALIVE_COUNT_MAX,
  DEFAULT_SSH_KEEPALIVE_INTERVAL,
  DEFAULT_SSH_PORT,
  DEFAULT_STARTUP_TIMEOUT,
  DEFAULT_TCP_KEEPALIVE,
  DEFAULT_WORKERS,
  DEFAULT_WEB_LISTEN_ADDR,
  MAX_AWS_CREDENTIAL_DURATION_MS,
  MAX_MAX_CONNECTIONS,
  MAX_SESSION_TTL_MS,
  MAX_SSH_KEEPALIVE_COUNT_MAX,
  MAX_TIMEOUT_MS,
  MAX_WORKERS,
  MIN_AWS_CREDENTIAL_DURATION_MS,
  MIN_SESSION_TTL_MS,
} from './defaults.js';
import { formatDuration, parseDuration } from './duration.js';
import { parseTraitValue } from '../rbac/traits.js';
import { parseCidr } from '../proxy/cidr.js';
import type { GatehouseConfig, ProxyConfig } from './types.js';
import { describeValue } from './zod-issues.js';

export interface SchemaContext {
  /** Relative paths in the file resolve against this directory (the process cwd by default). */
  readonly cwd: string;
  /** Absolute path of the file, recorded in the result for messages. */
  readonly source: string;
}

export const DATABASE_NAME = /^[a-z0-9]([a-z0-9_-]{0,62})$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

function hostPort(defaultPort?: number) {
  return z.string().superRefine((value, ctx) => {
    try {
      parseHostPort(value, defaultPort);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

function duration(minMs: number, maxMs: number) {
  const notText = (issue: { input?: unknown }) =>
    issue.input === undefined ? undefined : `must be a duration such as 10s, 30m, 8h or 1h30m, not ${describeValue(issue.input)}`;
  return z.string({ error: notText }).transform((text, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(text)} is out of range: it must be from ${formatDuration(minMs)} to ${formatDuration(maxMs)}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** A duration where 0 means off; a bare 0 (a YAML number) is accepted as well as "0" or "0s". */
function durationOrOff() {
  return z.preprocess((value) => (value === 0 ? '0' : value), duration(0, MAX_TIMEOUT_MS));
}

function timeout(defaultText: string) {
  return duration(1, MAX_TIMEOUT_MS).prefault(defaultText);
}

function absolutePath(context: SchemaContext) {
  return nonEmpty.transform((value) => path.resolve(context.cwd, value));
}

const port = z
  .number()
  .refine((value) => Number.isInteger(value) && value >= 0 && value <= 65535, { error: 'must be a whole number from 0 to 65535' });

/** A value of db_users/db_names: a literal, '*', or a trait template that parses. */
const conditionValue = z.string().superRefine((value, ctx) => {
  const parsed = parseTraitValue(value);
  if (parsed.kind === 'invalid') ctx.addIssue({ code: 'custom', message: parsed.reason });
});

const labelValues = z
  .union([z.string(), z.array(z.string())], { error: 'must be a label value or a list of label values' })
  .transform((value) => (typeof value === 'string' ? [value] : value));

const labelSelector = z.record(z.string(), labelValues).superRefine(
  (selector, ctx) => {
    const wildcard: unknown = selector['*'];
    if (Array.isArray(wildcard) && !(wildcard.length === 1 && wildcard[0] === '*')) {
      ctx.addIssue({ code: 'custom', path: ['*'], message: `the label key '*' can only be used as '*': '*' (which matches every database)` });
    }
  },
  // Also when another label's value is wrong, so that both problems are reported in one run.
  { when: () => true },
);

/** max_connections, proxy-wide or per role. */
const connectionLimit = z
  .number()
  .refine((value) => Number.isInteger(value) && value >= 1 && value <= MAX_MAX_CONNECTIONS, {
    error: `must be a whole number from 1 to ${MAX_MAX_CONNECTIONS}`,
  });

const conditions = z
  .strictObject({
    db_labels: labelSelector.optional(),
    db_users: z.array(conditionValue).optional(),
    db_names: z.array(conditionValue).optional(),
  })
  .prefault({});

/** proxy.workers: auto (one per CPU) or how many processes share the listeners. */
const workerCount = z.custom<'auto' | number>(
  (value) => value === 'auto' || (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_WORKERS),
  { error: (issue) => `must be auto or a whole number from 1 to ${MAX_WORKERS}, not ${describeValue(issue.input)}` },
);

/** One of proxy.proxy_protocol_trusted_cidrs: 10.0.0.0/8, 2001:db8::/32, or one address. */
const cidrBlock = z.string().superRefine((value, ctx) => {
  try {
    parseCidr(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

function proxySchema(context: SchemaContext) {
  return z
    .strictObject({
      postgres_listen_addr: hostPort().prefault(DEFAULT_POSTGRES_LISTEN_ADDR),
      web_listen_addr: hostPort().prefault(DEFAULT_WEB_LISTEN_ADDR),
      public_addr: hostPort(0).prefault(DEFAULT_PUBLIC_ADDR),
      data_dir: absolutePath(context).prefault(DEFAULT_DATA_DIR),
      ca_dir: absolutePath(context).optional(),
      startup_timeout: timeout(DEFAULT_STARTUP_TIMEOUT),
      connect_timeout: timeout(DEFAULT_CONNECT_TIMEOUT),
      users_file: absolutePath(context).optional(),
      proxy_protocol: z.enum(['off', 'on', 'optional']).default('off'),
      proxy_protocol_trusted_cidrs: z.array(cidrBlock).default([]),
      login_max_failures: z
        .number()
        .refine((value) => Number.isInteger(value) && value >= 1 && value <= 1000, { error: 'must be a whole number from 1 to 1000' })
        .default(DEFAULT_LOGIN_MAX_FAILURES),
      login_lockout: duration(1000, MAX_TIMEOUT_MS).prefault(DEFAULT_LOGIN_LOCKOUT),
      shutdown_grace: durationOrOff().prefault(DEFAULT_SHUTDOWN_GRACE),
      max_connections: connectionLimit.default(DEFAULT_MAX_CONNECTIONS),
      client_idle_timeout: durationOrOff().prefault(DEFAULT_CLIENT_IDLE_TIMEOUT),
      disconnect_expired_cert: z.boolean().default(true),
      tcp_keepalive: durationOrOff().prefault(DEFAULT_TCP_KEEPALIVE),
      workers: workerCount.default(DEFAULT_WORKERS),
      allocator: z.enum(['auto', 'jemalloc', 'system']).default('auto'),
    })
    .prefault({})
    .transform((proxy) => ({
      postgres_listen_addr: proxy.postgres_listen_addr,
      web_listen_addr: proxy.web_listen_addr,
      public_addr: proxy.public_addr,
      data_dir: proxy.data_dir,
      ca_dir: proxy.ca_dir ?? path.join(proxy.data_dir, 'certs'),
      startup_timeout_ms: proxy.startup_timeout,
      connect_timeout_ms: proxy.connect_timeout,
      users_file: proxy.users_file ?? path.join(proxy.data_dir, 'users.yaml'),
      proxy_protocol: proxy.proxy_protocol,
      proxy_protocol_trusted_cidrs: proxy.proxy_protocol_trusted_cidrs,
      login_max_failures: proxy.login_max_failures,
      login_lockout_ms: proxy.login_lockout,
      shutdown_grace_ms: proxy.shutdown_grace,
      max_connections: proxy.max_connections,
      client_idle_timeout_ms: proxy.client_idle_timeout,
      disconnect_expired_cert: proxy.disconnect_expired_cert,
      tcp_keepalive_ms: proxy.tcp_keepalive,
      workers: proxy.workers,
      allocator: proxy.allocator,
    }));
}

function databaseSchema(context: SchemaContext) {
  return z.strictObject({
    name: z.string().regex(DATABASE_NAME, {
      error: (issue) =>
        `database name ${JSON.stringify(issue.input)} must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`,
    }),
    description: z.string().default(''),
    protocol: z.literal('postgres').default('postgres'),
    kind: z.enum(['postgres', 'embedded']).default('postgres'),
    uri: hostPort(DEFAULT_POSTGRES_PORT).optional(),
    labels: z.record(z.string(), z.string()).default({}),
    tls: z
      .strictObject({
        mode: z.enum(['verify-full', 'verify-ca', 'insecure']).default('verify-full'),
        ca_file: absolutePath(context).optional(),
        server_name: nonEmpty.optional(),
      })
      .prefault({}),
    auth: z
      .strictObject({
        user: nonEmpty.optional(),
        password_env: z
          .string()
          .regex(ENV_NAME, { error: 'must be an environment variable name (letters, digits and _, not starting with a digit)' })
          .optional(),
        password_file: absolutePath(context).optional(),
      })
      .optional(),
    embedded: z
      .strictObject({
        port: port.default(0),
        data_dir: absolutePath(context).optional(),
      })
      .optional(),
    aws: awsSchema(context).optional(),
    ssh_tunnel: sshTunnelSchema(context).optional(),
  });
}

/** Why a bastion host is not one, or undefined when it is fine: a name or address alone (its port has a key of its own). */
function sshHostProblem(value: string): string | undefined {
  if (isIP(value) !== 0) return undefined;
  if (value.includes(':')) return `${JSON.stringify(value)} must be a host name or IP address alone; put the port in ssh_tunnel.port`;
  try {
    parseHostPort(value, DEFAULT_SSH_PORT);
    return undefined;
  } catch {
    return `${JSON.stringify(value)} is not a host name or IP address`;
  }
}

const sshHost = z.string().superRefine((value, ctx) => {
  const problem = sshHostProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const sshPort = port.refine((value) => value !== 0, { error: 'must be a whole number from 1 to 65535' });

function sshTunnelSchema(context: SchemaContext) {
  return z
    .strictObject({
      host: sshHost,
      port: sshPort.default(DEFAULT_SSH_PORT),
      user: z.string().regex(/^[^\s@:]+$/, { error: 'must be an account name on the bastion, without spaces, "@" or ":"' }),
      private_key_file: absolutePath(context).optional(),
      known_hosts_file: absolutePath(context).optional(),
      keepalive_interval: durationOrOff().prefault(DEFAULT_SSH_KEEPALIVE_INTERVAL),
      keepalive_count_max: z
        .number()
        .refine((value) => Number.isInteger(value) && value >= 1 && value <= MAX_SSH_KEEPALIVE_COUNT_MAX, {
          error: `must be a whole number from 1 to ${MAX_SSH_KEEPALIVE_COUNT_MAX}`,
        })
        .default(DEFAULT_SSH_KEEPALIVE_COUNT_MAX),
    })
    .superRefine(
      (tunnel, ctx) => {
        // Checked here rather than as a plain required key so the message can name this bastion.
        // (With `when`, this runs whatever the value is: a non-mapping has its own error already.)
        if (typeof tunnel !== 'object' || tunnel === null || Array.isArray(tunnel) || tunnel.known_hosts_file !== undefined) return;
        // Only values that are right themselves go into the suggested command.
        const host = typeof tunnel.host === 'string' && sshHostProblem(tunnel.host) === undefined ? tunnel.host : 'BASTION';
        const portValue = sshPort.safeParse(tunnel.port ?? DEFAULT_SSH_PORT).data ?? DEFAULT_SSH_PORT;
        ctx.addIssue({
          code: 'custom',
          path: ['known_hosts_file'],
          message:
            `is required: Gatehouse never trusts a bastion's host key on first use. Write its keys to a file with ` +
            `"ssh-keyscan -p ${portValue} ${host} > known_hosts", check their fingerprints ("ssh-keygen -lf known_hosts") ` +
            `against the bastion's own ("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" there), and name the file here`,
        });
      },
      // Also when another key of the tunnel is wrong, so that both problems are reported in one run.
      { when: () => true },
    )
    .transform((tunnel) => ({
      host: tunnel.host,
      port: tunnel.port,
      user: tunnel.user,
      private_key_file: tunnel.private_key_file,
      // Present: the check above fails the parse otherwise, and transforms do not run after a failure.
      known_hosts_file: tunnel.known_hosts_file ?? '',
      keepalive_interval_ms: tunnel.keepalive_interval,
      keepalive_count_max: tunnel.keepalive_count_max,
    }));
}

// The names AWS allows (see the Redshift, Redshift Serverless and IAM API references), checked here so
// that a typo is a config error with a line number rather than an AWS error at the first login.
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const REDSHIFT_CLUSTER_ID = /^[a-z](?!.*--)([a-z0-9-]{0,61}[a-z0-9])?$/;
const REDSHIFT_WORKGROUP = /^[a-z0-9-]{3,64}$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const STS_EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** An http(s) URL of an API endpoint: scheme, host, optional port, nothing else. */
const awsEndpoint = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a URL; write e.g. https://vpce-0123-abcd.redshift.us-east-1.vpce.amazonaws.com` });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} must start with https:// (or http:// for a local test endpoint)` });
  } else if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} may hold only a scheme, a host and a port` });
  }
});

/** How long a minted password lives: AWS takes whole seconds from 15 minutes to an hour. */
const awsCredentialDuration = duration(MIN_AWS_CREDENTIAL_DURATION_MS, MAX_AWS_CREDENTIAL_DURATION_MS)
  .refine((ms) => ms % 1000 === 0, { error: 'must be a whole number of seconds' })
  .prefault(DEFAULT_AWS_CREDENTIAL_DURATION);

function awsSchema(context: SchemaContext) {
  return z.strictObject({
    region: z.string().regex(AWS_REGION, { error: (issue) => `${describeValue(issue.input)} is not an AWS region; write e.g. us-east-1` }),
    endpoint: awsEndpoint.optional(),
    sts_endpoint: awsEndpoint.optional(),
    assume_role_arn: z
      .string()
      .regex(IAM_ROLE_ARN, { error: (issue) => `${describeValue(issue.input)} is not an IAM role ARN; write e.g. arn:aws:iam::123456789012:role/gatehouse-redshift` })
      .optional(),
    external_id: z
      .string()
      .regex(STS_EXTERNAL_ID, { error: 'must be 2 to 1224 characters of letters, digits and +=,.@:/_-' })
      .optional(),
    web_identity_token_file: absolutePath(context).optional(),
    redshift: z
      .strictObject({
        cluster_id: z.string().regex(REDSHIFT_CLUSTER_ID, {
          error: (issue) =>
            `${describeValue(issue.input)} is not a Redshift cluster identifier: 1-63 lowercase letters, digits and hyphens, starting with a letter, without a trailing hyphen or two hyphens in a row`,
        }),
        duration: awsCredentialDuration,
      })
      .transform(({ cluster_id, duration }) => ({ cluster_id, duration_ms: duration }))
      .optional(),
    redshift_serverless: z
      .strictObject({
        workgroup: z.string().regex(REDSHIFT_WORKGROUP, {
          error: (issue) => `${describeValue(issue.input)} is not a Redshift Serverless workgroup name: 3-64 lowercase letters, digits and hyphens`,
        }),
        duration: awsCredentialDuration,
      })
      .transform(({ workgroup, duration }) => ({ workgroup, duration_ms: duration }))
      .optional(),
  });
}

const roleSchema = z.strictObject({
  name: nonEmpty,
  allow: conditions,
  deny: conditions,
  options: z
    .strictObject({
      max_session_ttl: duration(MIN_SESSION_TTL_MS, MAX_SESSION_TTL_MS).prefault(formatDuration(MAX_SESSION_TTL_MS)),
      max_connections: connectionLimit.optional(),
      client_idle_timeout: durationOrOff().optional(),
      admin: z.boolean().optional(),
    })
    .prefault({})
    .transform((options) => ({
      max_session_ttl_ms: options.max_session_ttl,
      ...(options.max_connections === undefined ? {} : { max_connections: options.max_connections }),
      ...(options.client_idle_timeout === undefined ? {} : { client_idle_timeout_ms: options.client_idle_timeout }),
      // Present only when true, so that configs (and tests) without it read exactly as before.
      ...(options.admin === true ? { admin: true as boolean } : {}),
    })),
});

const userSchema = z.strictObject({
  name: nonEmpty,
  roles: z.array(nonEmpty),
  traits: z.record(z.string(), z.array(z.string())).default({}),
});

/** The whole file. Defaults that depend on other keys (ca_dir, embedded data_dir) are filled in here. */
export function configSchema(context: SchemaContext) {
  return z
    .strictObject({
      version: z.literal('v1'),
      proxy: proxySchema(context),
      log: z
        .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
        .prefault({}),
      audit: z
        .strictObject({
          output: nonEmpty
            .transform((output) => (output === 'stdout' || output === 'stderr' ? output : path.resolve(context.cwd, output)))
            .prefault('stdout'),
          log_query_parameters: z.boolean().default(true),
        })
        .prefault({}),
      databases: z.array(databaseSchema(context)).default([]),
      roles: z.array(roleSchema).default([]),
      users: z.array(userSchema).default([]),
    })
    .transform((config) => ({
      version: config.version,
      source: context.source,
      proxy: config.proxy,
      log: config.log,
      audit: config.audit,
      databases: config.databases.map((database) => withSshKeyDefault(withEmbeddedDefaults(database, config.proxy), config.proxy)),
      roles: config.roles,
      users: config.users,
    }));
}

type ParsedDatabase = z.output<ReturnType<typeof databaseSchema>>;
type FinalDatabase = Omit<ParsedDatabase, 'embedded'> & { embedded?: { port: number; data_dir: string } };

/**
 * An embedded database always gets its block, with its data under the proxy's data_dir by default.
 * (A postgres database with an embedded block is reported by cross-checks.ts; the block is dropped.)
 */
function withEmbeddedDefaults(database: ParsedDatabase, proxy: ProxyConfig): FinalDatabase {
  const { embedded, ...rest } = database;
  if (database.kind !== 'embedded') return rest;
  return {
    ...rest,
    embedded: {
      port: embedded?.port ?? 0,
      data_dir: embedded?.data_dir ?? path.join(proxy.data_dir, 'embedded', database.name),
    },
  };
}

type ParsedSshTunnel = NonNullable<ParsedDatabase['ssh_tunnel']>;
type FinalSshTunnel = Omit<ParsedSshTunnel, 'private_key_file'> & { private_key_file: string };

/** Each database behind a bastion has its own key by default, where `gatehouse ssh-key show` creates it. */
function withSshKeyDefault<T extends { name: string; ssh_tunnel?: ParsedSshTunnel }>(
  database: T,
  proxy: ProxyConfig,
): Omit<T, 'ssh_tunnel'> & { ssh_tunnel?: FinalSshTunnel } {
  const { ssh_tunnel, ...rest } = database;
  if (ssh_tunnel === undefined) return rest;
  const private_key_file = ssh_tunnel.private_key_file ?? path.join(proxy.data_dir, 'ssh', `${database.name}_ed25519`);
  return { ...rest, ssh_tunnel: { ...ssh_tunnel, private_key_file } };
}

// Compile-time proof that the schema produces GatehouseConfig, no more and no less: the output is
// assignable to the contract, and the contract (with readonly stripped) to the output.
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type SchemaOutput = z.output<ReturnType<typeof configSchema>>;
type Assignable<From extends To, To> = From;
export type SchemaOutputIsGatehouseConfig = Assignable<SchemaOutput, GatehouseConfig>;
export type GatehouseConfigIsSchemaOutput = Assignable<Mutable<GatehouseConfig>, SchemaOutput>;
