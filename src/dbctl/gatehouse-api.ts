// The web API calls dbctl makes, typed and checked: every answer is validated before dbctl
// trusts a field of it, so a wrong --proxy (another HTTPS service) or a version mismatch ends in a
// clear message instead of `undefined` written into a file. Error answers become DbctlErrors with
// Gatehouse's own message (see web-client.ts apiError).
import { z } from 'zod';
import { DbctlError } from './dbctl-error.js';
import { apiError, apiErrorBody, type ApiResponse, type WebClient } from './web-client.js';

const caAnswer = z.object({ host_ca_pem: z.string().min(1), fingerprint: z.string() });
const loginAnswer = z.object({
  user: z.string(),
  roles: z.array(z.string()),
  identity_cert_pem: z.string().min(1),
  expires_at: z.string(),
  postgres_addr: z.string().min(1),
});
const dbCertAnswer = z.object({
  cert_pem: z.string().min(1),
  expires_at: z.string(),
  database: z.string(),
  db_user: z.string().optional(),
  db_name: z.string().optional(),
  postgres_addr: z.string().min(1),
});
const databaseEntry = z.object({
  name: z.string(),
  description: z.string().optional().default(''),
  protocol: z.string().optional().default('postgres'),
  labels: z.record(z.string(), z.string()).optional().default({}),
  db_users: z.array(z.string()).optional().default([]),
  db_names: z.array(z.string()).optional().default([]),
});
const databasesAnswer = z.object({ databases: z.array(databaseEntry) });
const meAnswer = z.object({ user: z.string(), roles: z.array(z.string()), expires_at: z.string() });

export type LoginAnswer = z.infer<typeof loginAnswer>;
export type DbCertAnswer = z.infer<typeof dbCertAnswer>;
export type DatabaseEntry = z.infer<typeof databaseEntry>;
export type MeAnswer = z.infer<typeof meAnswer>;

export interface LoginRequest {
  user: string;
  password: string;
  totpCode?: string;
  publicKeyPem: string;
}

export type LoginResult =
  | { kind: 'ok'; answer: LoginAnswer }
  /** The password was right and a TOTP code is needed (none was sent). */
  | { kind: 'totp-required'; message: string };

export interface DbCertRequest {
  database: string;
  dbUser?: string;
  dbName?: string;
  publicKeyPem: string;
}

/** GET /v1/ca without verification (first contact): the offered CA and the certificate the proxy presented. */
export async function fetchOfferedCa(client: WebClient): Promise<{ caPem: string; fingerprint: string; response: ApiResponse }> {
  const response = await client.fetchUnverified('/v1/ca');
  if (response.status !== 200) throw apiError(response, `GET /v1/ca at ${client.proxyText}`);
  const answer = parse(caAnswer, response, client, 'GET /v1/ca');
  return { caPem: answer.host_ca_pem, fingerprint: answer.fingerprint, response };
}

export async function login(client: WebClient, request: LoginRequest): Promise<LoginResult> {
  const response = await client.request('POST', '/v1/login', {
    user: request.user,
    password: request.password,
    ...(request.totpCode === undefined ? {} : { totp_code: request.totpCode }),
    public_key_pem: request.publicKeyPem,
  });
  if (response.status === 200) return { kind: 'ok', answer: parse(loginAnswer, response, client, 'POST /v1/login') };
  const body = apiErrorBody(response.body);
  if (response.status === 401 && body?.code === 'GH_ERR_TOTP_REQUIRED') return { kind: 'totp-required', message: body.message };
  if (response.status === 429) {
    const retry = body?.extra.retry_after_s;
    const wait = typeof retry === 'number' ? `try again in ${formatSeconds(retry)}` : 'try again later';
    throw apiError(response, `login as ${request.user}`, `${wait}; if you forgot your password, ask your Gatehouse administrator ("gatehouse users set-password")`);
  }
  if (response.status === 401 && body?.code === 'GH_ERR_TOTP_INVALID') {
    throw apiError(response, `login as ${request.user}`, 'use the current code from your authenticator app; each code works once, so wait for the next one if you just used it');
  }
  throw apiError(response, `login as ${request.user}`);
}

export async function requestDatabaseCertificate(client: WebClient, request: DbCertRequest, relogin: string): Promise<DbCertAnswer> {
  const response = await client.request('POST', '/v1/db-certs', {
    database: request.database,
    ...(request.dbUser === undefined ? {} : { db_user: request.dbUser }),
    ...(request.dbName === undefined ? {} : { db_name: request.dbName }),
    public_key_pem: request.publicKeyPem,
  });
  if (response.status === 200) return parse(dbCertAnswer, response, client, 'POST /v1/db-certs');
  const body = apiErrorBody(response.body);
  const what = `a certificate for database ${request.database}`;
  if (response.status === 404 && body?.code === 'GH_ERR_UNKNOWN_DATABASE') {
    const available = Array.isArray(body.extra.available) ? body.extra.available.filter((name): name is string => typeof name === 'string') : [];
    throw replaceHint(
      apiError(response, what),
      available.length === 0 ? 'your roles allow no database on this Gatehouse; ask your administrator' : `databases you may use: ${available.join(', ')} (see "dbctl ls")`,
    );
  }
  throw identityAware(response, what, relogin);
}

export async function listDatabases(client: WebClient, relogin: string): Promise<DatabaseEntry[]> {
  const response = await client.request('GET', '/v1/databases');
  if (response.status !== 200) throw identityAware(response, 'listing databases', relogin);
  return parse(databasesAnswer, response, client, 'GET /v1/databases').databases;
}

export async function whoAmI(client: WebClient, relogin: string): Promise<MeAnswer> {
  const response = await client.request('GET', '/v1/me');
  if (response.status !== 200) throw identityAware(response, 'GET /v1/me', relogin);
  return parse(meAnswer, response, client, 'GET /v1/me');
}

/** An error answer; a 401 about the identity certificate says exactly which login command renews it. */
function identityAware(response: ApiResponse, what: string, relogin: string): DbctlError {
  const error = apiError(response, what);
  // Gatehouse's hint can only say "dbctl login"; this one has the proxy and user filled in.
  return response.status === 401 ? replaceHint(error, `run: ${relogin}`) : error;
}

/** The same refusal with dbctl's own hint instead of Gatehouse's (when dbctl knows more, e.g. the exact command). */
function replaceHint(error: DbctlError, hint: string): DbctlError {
  return new DbctlError(error.message, { exitCode: error.exitCode, ...(error.code === undefined ? {} : { code: error.code }), hint });
}

function parse<T>(schema: z.ZodType<T>, response: ApiResponse, client: WebClient, what: string): T {
  const result = schema.safeParse(response.body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : ` (${issue.path.join('.') || 'body'}: ${issue.message})`;
    throw new DbctlError(`${client.proxyText} answered ${what} with something dbctl does not understand${where}`, {
      hint: 'check that --proxy is Gatehouse\'s web API and that dbctl and Gatehouse are the same version',
    });
  }
  return result.data;
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.ceil(seconds))} s`;
  return `${Math.ceil(seconds / 60)} min`;
}
