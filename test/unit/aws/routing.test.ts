// The daemon's routers: databases with an aws block go to the AWS side, every other to the static one.
import { describe, expect, it } from 'vitest';
import type { CredentialRequest, CredentialSource } from '../../../src/auth/credentials.js';
import { RoutingCredentialSource } from '../../../src/aws/aws-credential-source.js';
import { RoutingTargets } from '../../../src/aws/aws-targets.js';
import type { DatabaseConfig } from '../../../src/config/types.js';
import type { TargetResolver } from '../../../src/proxy/upstream-targets.js';
import { databasesFrom } from './fixtures.js';

const named = (user: string): CredentialSource => ({ credentialsFor: async () => ({ user }) });
const at = (host: string): TargetResolver => ({ targetFor: async () => ({ host, port: 1, tls: { mode: 'insecure', serverName: host } }) });

describe('routing', () => {
  const [redshift, serverless, plain] = databasesFrom(
    ['name: rs', 'aws: { region: us-east-1, redshift: { cluster_id: c1 } }'],
    ['name: sl', 'aws: { region: us-east-1, redshift_serverless: { workgroup: wg1 } }'],
    ['name: pg', 'uri: "db:5432"'],
  ) as [DatabaseConfig, DatabaseConfig, DatabaseConfig];
  const request = (database: DatabaseConfig): CredentialRequest => ({ database, dbUser: 'u', dbName: 'd' });

  it('sends credentials requests for aws databases to the AWS source and the rest to the static one', async () => {
    const router = new RoutingCredentialSource(named('aws'), named('static'));
    expect((await router.credentialsFor(request(redshift))).user).toBe('aws');
    expect((await router.credentialsFor(request(serverless))).user).toBe('aws');
    expect((await router.credentialsFor(request(plain))).user).toBe('static');
  });

  it('resolves targets the same way', async () => {
    const router = new RoutingTargets(at('aws'), at('configured'));
    expect((await router.targetFor(redshift)).host).toBe('aws');
    expect((await router.targetFor(plain)).host).toBe('configured');
  });
});
