// Try Gatehouse's Redshift support by hand, with no AWS account: starts a stand-in cluster (a real
// PostgreSQL with a `dev` database) and the local AWS endpoint, writes a gatehouse.yaml that points
// at them, and prints how to start Gatehouse with the demo's AWS keys. Then it shows every AWS call
// as it arrives and takes a few commands on stdin (pause / resume the cluster, throttle, short
// token lifetimes) so the refusals can be seen in psql too. Ctrl+C stops everything.
//
// Run it with `npm run demo:redshift` (tsx runs this TypeScript file as it is); see
// "Running the local endpoint by hand" in docs/redshift.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../../src/embedded/postgres-cluster.js';
import { makeTempDir } from '../temp-dir.js';
import { Faults, startLocalAws, type CallRecord, type LocalAws } from './local-aws.js';
import { startStandInCluster } from './stand-in.js';

const REGION = 'us-east-1';
const CLUSTER = 'redshift-cluster-1';
const WORKGROUP = 'analytics';
const EXTERNAL_ID = 'gatehouse-demo';

async function main(): Promise<void> {
  const temp = makeTempDir('redshift-demo');
  process.stdout.write('Starting the stand-in cluster (PostgreSQL) and the local AWS endpoint...\n');
  const standIn = await startStandInCluster();
  const aws = await startLocalAws({ region: REGION, onCall: printCall });

  const gatehouse = aws.addUser({ name: 'gatehouse' });
  const arn = (resource: string) => `arn:aws:redshift:${REGION}:${aws.accountId}:${resource}`;
  aws.allow(gatehouse.arn, { actions: ['redshift:DescribeClusters'], resources: [arn(`cluster:${CLUSTER}`)] });
  aws.allow(gatehouse.arn, { actions: ['redshift:GetClusterCredentials'], resources: [arn(`dbuser:${CLUSTER}/awsuser`), arn(`dbname:${CLUSTER}/dev`)] });
  aws.allow(gatehouse.arn, { actions: ['redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'], resources: ['*'] });
  const roleArn = aws.addRole({ name: 'gatehouse-redshift', externalId: EXTERNAL_ID });
  aws.allow(gatehouse.arn, { actions: ['sts:AssumeRole'], resources: [roleArn] });
  aws.allow(roleArn, { actions: ['redshift:DescribeClusters', 'redshift:GetClusterCredentials'], resources: [arn(`cluster:${CLUSTER}`), arn(`dbuser:${CLUSTER}/*`), arn(`dbname:${CLUSTER}/*`)] });
  const place = { host: standIn.host, port: standIn.port, minter: standIn.minter };
  aws.addCluster({ id: CLUSTER, ...place });
  aws.addWorkgroup({ name: WORKGROUP, ...place });

  const configFile = join(temp.path, 'gatehouse.yaml');
  // Fixed ports rather than 0, so that every command Gatehouse prints (certs issue, psql) carries the real one.
  const ports = { postgres: await freePort(), web: await freePort() };
  writeFileSync(configFile, demoConfig(temp.path, ports, standIn.postgres.caFile, aws.endpoint, roleArn));
  process.stdout.write(
    [
      '',
      `Local AWS endpoint (Redshift, Redshift Serverless, STS): ${aws.endpoint}, region ${REGION}`,
      `Stand-in for cluster ${CLUSTER} and workgroup ${WORKGROUP}: PostgreSQL on ${standIn.host}:${standIn.port}, database dev`,
      `Gatehouse config: ${configFile}`,
      '',
      'In another terminal, from the repository, start Gatehouse with the demo AWS identity:',
      `  AWS_ACCESS_KEY_ID=${gatehouse.accessKeyId} AWS_SECRET_ACCESS_KEY=${gatehouse.secretAccessKey} node dist/cli/gatehouse.js start --config ${configFile}`,
      'It prints the two commands to run next (a certificate for alice, then psql as awsuser on dev);',
      "in psql, `select current_user;` shows IAM:awsuser. Databases: redshift, redshift-role (assumed role), analytics (Serverless).",
      `The IAM policy Gatehouse needs: node dist/cli/gatehouse.js aws policy --config ${configFile}`,
      '',
      'Commands here: pause | resume | throttle N | lifetime SECONDS | lifetime off | help. Ctrl+C stops.',
      'AWS calls:',
      '',
    ].join('\n'),
  );

  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => process.stdout.write(`${runCommand(aws, line.trim())}\n`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  input.close();
  process.stdout.write('\nStopping...\n');
  await aws.stop();
  await standIn.stop();
  temp.remove();
}

function runCommand(aws: LocalAws, line: string): string {
  const [command, argument] = line.split(/\s+/);
  switch (command) {
    case '':
      return '';
    case 'pause':
      aws.setClusterStatus(CLUSTER, 'paused');
      return `${CLUSTER} is paused (Gatehouse caches an available cluster for up to 30 s).`;
    case 'resume':
      aws.setClusterStatus(CLUSTER, 'available');
      return `${CLUSTER} is available.`;
    case 'throttle': {
      const times = Number(argument ?? '1');
      if (!Number.isInteger(times) || times < 1) return 'usage: throttle N (N >= 1)';
      aws.failNext('GetClusterCredentials', Faults.throttling(), times);
      aws.failNext('GetCredentials', Faults.throttlingException(), times);
      return `the next ${times} credential calls are throttled.`;
    }
    case 'lifetime': {
      if (argument === 'off') {
        aws.setTokenLifetime(undefined);
        return 'tokens live as long as Gatehouse asks (duration in the config).';
      }
      const seconds = Number(argument);
      if (!Number.isInteger(seconds) || seconds < 1) return 'usage: lifetime SECONDS | lifetime off';
      aws.setTokenLifetime(seconds);
      return `new tokens expire after ${seconds} s.`;
    }
    default:
      return 'commands: pause | resume | throttle N | lifetime SECONDS | lifetime off';
  }
}

function printCall(call: CallRecord): void {
  const time = new Date(call.at).toISOString().slice(11, 19);
  const target = [call.parameters.ClusterIdentifier ?? call.parameters.workgroupName ?? call.parameters.RoleArn, call.parameters.DbUser, call.parameters.DbName ?? call.parameters.dbName]
    .filter((part) => part !== undefined)
    .join(' ');
  const outcome = call.outcome === 'ok' ? 'ok' : `${call.outcome}${call.message === undefined ? '' : `: ${call.message}`}`;
  process.stdout.write(`${time} ${call.action} ${target} by ${call.callerArn ?? 'anonymous'} -> ${outcome}\n`);
}

function demoConfig(dir: string, ports: { postgres: number; web: number }, caFile: string, endpoint: string, roleArn: string): string {
  const aws = (rest: string) => `{ region: ${REGION}, endpoint: ${endpoint}, sts_endpoint: ${endpoint}, ${rest} }`;
  const database = (name: string, description: string, awsBlock: string) =>
    [`  - name: ${name}`, `    description: ${description}`, '    protocol: postgres', '    labels: { env: dev }', `    tls: { mode: verify-full, ca_file: ${caFile} }`, `    aws: ${aws(awsBlock)}`].join('\n');
  return [
    '# Written by test/support/local-aws/demo.ts: Gatehouse in front of a local stand-in for Redshift.',
    'version: v1',
    'proxy:',
    `  postgres_listen_addr: 127.0.0.1:${ports.postgres}`,
    `  web_listen_addr: 127.0.0.1:${ports.web}`,
    `  public_addr: localhost:${ports.postgres}`,
    `  data_dir: ${join(dir, 'data')}`,
    `  ca_dir: ${join(dir, 'certs')}`,
    'log: { level: info }',
    'audit: { output: stdout }',
    'databases:',
    database('redshift', 'Redshift cluster (local stand-in)', `redshift: { cluster_id: ${CLUSTER}, duration: 15m }`),
    database('redshift-role', 'The same cluster through an assumed role', `assume_role_arn: '${roleArn}', external_id: ${EXTERNAL_ID}, redshift: { cluster_id: ${CLUSTER} }`),
    database('analytics', 'Redshift Serverless workgroup (local stand-in)', `redshift_serverless: { workgroup: ${WORKGROUP} }`),
    'roles:',
    '  - name: analysts',
    '    allow:',
    '      db_labels: { env: [dev] }',
    '      db_users: ["{{internal.db_users}}"]',
    '      db_names: ["{{internal.db_names}}"]',
    'users:',
    '  - name: alice',
    '    roles: [analysts]',
    '    traits: { db_users: [awsuser], db_names: [dev] }',
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
