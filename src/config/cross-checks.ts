// Rules that involve more than one field: unique names, users' roles that exist, a database's kind
// against its uri, embedded and aws blocks, one password source, the parts of an aws block. They read the raw YAML data rather than
// the schema's output so that they still run, and report, when the schema has failed elsewhere; so
// they trust nothing about its shape. Each message names both fields involved.
import { formatPath } from './issues.js';
import type { Anchor, ConfigPath, SourceMap } from './source-map.js';

export interface LocatedIssue {
  readonly path: ConfigPath;
  readonly anchor: Anchor;
  readonly message: string;
}

type Raw = Record<string, unknown>;

export function crossFieldIssues(raw: unknown, sourceMap: SourceMap): LocatedIssue[] {
  if (!isRecord(raw)) return [];
  return [
    ...duplicateNames(raw, 'databases', 'database', sourceMap),
    ...duplicateNames(raw, 'roles', 'role', sourceMap),
    ...duplicateNames(raw, 'users', 'user', sourceMap),
    ...undefinedRoles(raw),
    ...databaseKinds(raw),
    ...passwordSources(raw),
    ...awsBlocks(raw),
    ...sshTunnels(raw),
    ...proxyProtocolTrust(raw),
  ];
}

function duplicateNames(raw: Raw, section: string, noun: string, sourceMap: SourceMap): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  const firstIndex = new Map<string, number>();
  for (const [index, item] of entries(raw[section])) {
    const name = isRecord(item) ? item.name : undefined;
    if (typeof name !== 'string') continue;
    const first = firstIndex.get(name);
    if (first === undefined) {
      firstIndex.set(name, index);
      continue;
    }
    const firstPath = [section, first, 'name'];
    issues.push({
      path: [section, index, 'name'],
      anchor: 'value',
      message: `duplicate ${noun} name ${JSON.stringify(name)} (first defined at ${formatPath(firstPath)}, line ${sourceMap.position(firstPath).line})`,
    });
  }
  return issues;
}

function undefinedRoles(raw: Raw): LocatedIssue[] {
  const defined = entries(raw.roles)
    .map(([, role]) => (isRecord(role) ? role.name : undefined))
    .filter((name): name is string => typeof name === 'string');
  const known = new Set(defined);
  const listing = defined.length === 0 ? 'no roles are defined' : `defined: ${[...known].join(', ')}`;
  const issues: LocatedIssue[] = [];
  for (const [userIndex, user] of entries(raw.users)) {
    if (!isRecord(user)) continue;
    for (const [roleIndex, role] of entries(user.roles)) {
      if (typeof role !== 'string' || role === '' || known.has(role)) continue;
      issues.push({
        path: ['users', userIndex, 'roles', roleIndex],
        anchor: 'value',
        message: `role ${JSON.stringify(role)} is not defined in roles (${listing})`,
      });
    }
  }
  return issues;
}

function databaseKinds(raw: Raw): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const [index, database] of entries(raw.databases)) {
    if (!isRecord(database)) continue;
    const kindPath = formatPath(['databases', index, 'kind']);
    // An unknown kind is the schema's to report; guessing which rule applies would add noise.
    if (database.kind === undefined || database.kind === 'postgres') {
      const kindText = database.kind === undefined ? `${kindPath} is postgres (the default)` : `${kindPath} is postgres`;
      // With aws, DescribeClusters / GetWorkgroup knows the address.
      if (database.uri === undefined && database.aws === undefined) {
        issues.push({
          path: ['databases', index, 'uri'],
          anchor: 'value',
          message: `is required because ${kindText}; set uri: host:port, or kind: embedded to have Gatehouse run the database`,
        });
      }
      if (database.embedded !== undefined) {
        issues.push({
          path: ['databases', index, 'embedded'],
          anchor: 'key',
          message: `is only allowed when ${kindPath} is embedded, but ${kindText}`,
        });
      }
    } else if (database.kind === 'embedded' && database.uri !== undefined) {
      issues.push({
        path: ['databases', index, 'uri'],
        anchor: 'key',
        message: `must not be set because ${kindPath} is embedded: Gatehouse starts that database and knows its address`,
      });
    }
  }
  return issues;
}

function passwordSources(raw: Raw): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const [index, database] of entries(raw.databases)) {
    const auth = isRecord(database) ? database.auth : undefined;
    if (!isRecord(auth) || auth.password_env === undefined || auth.password_file === undefined) continue;
    issues.push({
      path: ['databases', index, 'auth', 'password_file'],
      anchor: 'key',
      message: `cannot be set together with ${formatPath(['databases', index, 'auth', 'password_env'])}; use one of them`,
    });
  }
  return issues;
}

/**
 * An aws block: a postgres database, exactly one of redshift / redshift_serverless, the role options
 * only with a role to assume, and no static password (Gatehouse mints one per session).
 */
function awsBlocks(raw: Raw): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const [index, database] of entries(raw.databases)) {
    if (!isRecord(database) || !isRecord(database.aws)) continue;
    const aws = database.aws;
    const at = (...rest: (string | number)[]) => ['databases', index, ...rest];
    if (database.kind === 'embedded') {
      issues.push({
        path: at('aws'),
        anchor: 'key',
        message: `is only allowed when ${formatPath(at('kind'))} is postgres, but it is embedded: Redshift is a database somewhere else`,
      });
    }
    if (aws.redshift === undefined && aws.redshift_serverless === undefined) {
      issues.push({
        path: at('aws'),
        anchor: 'key',
        message: `needs ${formatPath(at('aws', 'redshift'))} (a provisioned cluster: { cluster_id: ID }) or ${formatPath(at('aws', 'redshift_serverless'))} (a workgroup: { workgroup: NAME })`,
      });
    } else if (aws.redshift !== undefined && aws.redshift_serverless !== undefined) {
      issues.push({
        path: at('aws', 'redshift_serverless'),
        anchor: 'key',
        message: `cannot be set together with ${formatPath(at('aws', 'redshift'))}; a database is either a provisioned cluster or a Serverless workgroup`,
      });
    }
    for (const option of ['external_id', 'web_identity_token_file'] as const) {
      if (aws[option] !== undefined && aws.assume_role_arn === undefined) {
        issues.push({
          path: at('aws', option),
          anchor: 'key',
          message: `needs ${formatPath(at('aws', 'assume_role_arn'))}: it is used only when Gatehouse assumes a role`,
        });
      }
    }
    if (aws.external_id !== undefined && aws.web_identity_token_file !== undefined) {
      issues.push({
        path: at('aws', 'external_id'),
        anchor: 'key',
        message: `cannot be set together with ${formatPath(at('aws', 'web_identity_token_file'))}: AssumeRoleWithWebIdentity takes no external id`,
      });
    }
    const auth = database.auth;
    if (isRecord(auth)) {
      for (const source of ['password_env', 'password_file'] as const) {
        if (auth[source] === undefined) continue;
        issues.push({
          path: at('auth', source),
          anchor: 'key',
          message: `cannot be set together with ${formatPath(at('aws'))}: Gatehouse mints a temporary password through AWS for each session`,
        });
      }
    }
  }
  return issues;
}

/** An SSH bastion leads to a database somewhere else; an embedded one runs on Gatehouse's own host. */
function sshTunnels(raw: Raw): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const [index, database] of entries(raw.databases)) {
    if (!isRecord(database) || database.ssh_tunnel === undefined || database.kind !== 'embedded') continue;
    issues.push({
      path: ['databases', index, 'ssh_tunnel'],
      anchor: 'key',
      message: `is only allowed when ${formatPath(['databases', index, 'kind'])} is postgres, but it is embedded: Gatehouse runs that database on its own host`,
    });
  }
  return issues;
}

/** A PROXY header is believed only from listed load balancers, so turning it on needs the list. */
function proxyProtocolTrust(raw: Raw): LocatedIssue[] {
  const proxy = raw.proxy;
  if (!isRecord(proxy) || (proxy.proxy_protocol !== 'on' && proxy.proxy_protocol !== 'optional')) return [];
  const cidrs = proxy.proxy_protocol_trusted_cidrs;
  if (Array.isArray(cidrs) && cidrs.length > 0) return [];
  const because = `proxy.proxy_protocol is ${proxy.proxy_protocol}`;
  const advice = 'list the address ranges of the load balancers in front of Gatehouse (e.g. [10.0.0.0/16]); headers from anyone else are refused';
  return cidrs === undefined
    ? [{ path: ['proxy', 'proxy_protocol'], anchor: 'value', message: `needs proxy.proxy_protocol_trusted_cidrs: ${advice}` }]
    : [{ path: ['proxy', 'proxy_protocol_trusted_cidrs'], anchor: 'value', message: `must not be empty because ${because}: ${advice}` }];
}

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [number, unknown][] {
  return Array.isArray(value) ? [...value.entries()] : [];
}
