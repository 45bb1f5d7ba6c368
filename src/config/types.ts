// The validated, defaulted and frozen shape of gatehouse.yaml. Keys keep the YAML's snake_case so
// that a name in an error message, in the docs and in the code is the same name. The schema in
// schema.ts produces exactly this type; everything else in Gatehouse reads only this type.

export type TlsMode = 'verify-full' | 'verify-ca' | 'insecure';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type ProxyProtocolMode = 'off' | 'on' | 'optional';

export interface ProxyConfig {
  /** host:port of the Postgres wire-protocol listener. */
  readonly postgres_listen_addr: string;
  /** host:port of the HTTPS API (login, health). */
  readonly web_listen_addr: string;
  /** The host name (optionally host:port) clients are told to connect to; also the proxy certificate's SAN. */
  readonly public_addr: string;
  /** Absolute path of the state directory. */
  readonly data_dir: string;
  /** Absolute path of the CA directory (default: <data_dir>/certs). */
  readonly ca_dir: string;
  /** How long a new client connection may take to finish TLS and send its StartupMessage. */
  readonly startup_timeout_ms: number;
  /** How long dialling and logging in to an upstream database may take. */
  readonly connect_timeout_ms: number;
  /** Absolute path of the users file `gatehouse users` writes (default: <data_dir>/users.yaml). */
  readonly users_file: string;
  /** Whether the Postgres listener reads a PROXY protocol header (v1 or v2) first: off, on (required) or optional. */
  readonly proxy_protocol: ProxyProtocolMode;
  /** CIDR blocks of the load balancers whose PROXY headers are believed; non-empty unless proxy_protocol is off. */
  readonly proxy_protocol_trusted_cidrs: readonly string[];
  /** Failed logins per user, and per client address, before further attempts are refused for a while. */
  readonly login_max_failures: number;
  /** How long failures are remembered, and how long logins stay refused once there are too many. */
  readonly login_lockout_ms: number;
  /** On SIGTERM, how long running sessions may go on before they are ended (0: end them at once). */
  readonly shutdown_grace_ms: number;
  /** Most sessions the whole proxy serves at once; one more is refused with 53300. */
  readonly max_connections: number;
  /** End a session after this long with no bytes either way (0: never); a role may set its own. */
  readonly client_idle_timeout_ms: number;
  /** End a session when the client certificate it was opened with expires. */
  readonly disconnect_expired_cert: boolean;
  /** TCP keepalive idle time on client and database sockets (0: off). */
  readonly tcp_keepalive_ms: number;
  /** Processes that share the listeners: 'auto' (one per CPU, os.availableParallelism()) or 1 to 64; 1 is one process. */
  readonly workers: 'auto' | number;
  /** The C allocator of the workers: jemalloc when found ('auto'), required ('jemalloc'), or glibc's ('system'). */
  readonly allocator: 'auto' | 'jemalloc' | 'system';
}

export interface LogConfig {
  readonly level: LogLevel;
}

export interface AuditConfig {
  /** 'stdout', 'stderr', or an absolute file path. */
  readonly output: string;
  readonly log_query_parameters: boolean;
}

export interface DatabaseTlsConfig {
  readonly mode: TlsMode;
  /** Absolute path; absent means the system roots (or the host CA for embedded databases). */
  readonly ca_file?: string;
  /** Name to verify the server certificate against; default: the host in `uri`. */
  readonly server_name?: string;
}

export interface DatabaseAuthConfig {
  /** One fixed upstream login. Absent: log in as the session's database user. */
  readonly user?: string;
  /** Name of an environment variable holding the password. */
  readonly password_env?: string;
  /** Absolute path of a file holding the password (trailing newline ignored). */
  readonly password_file?: string;
}

export interface EmbeddedDatabaseConfig {
  /** Port for the embedded PostgreSQL on 127.0.0.1; 0 picks a free one at start. */
  readonly port: number;
  /** Absolute path; default <data_dir>/embedded/<name>. */
  readonly data_dir: string;
}

export interface AwsRedshiftConfig {
  readonly cluster_id: string;
  /** How long each minted database password lives (GetClusterCredentials DurationSeconds): 15m to 1h. */
  readonly duration_ms: number;
}

export interface AwsRedshiftServerlessConfig {
  readonly workgroup: string;
  /** How long each minted database password lives (GetCredentials durationSeconds): 15m to 1h. */
  readonly duration_ms: number;
}

/** A database whose passwords Gatehouse mints per session through the AWS API (Redshift, Redshift Serverless). */
export interface AwsConfig {
  readonly region: string;
  /** Overrides the Redshift / Redshift Serverless API endpoint (PrivateLink VPC endpoints, tests). */
  readonly endpoint?: string;
  /** Overrides the STS endpoint used for assume_role_arn / web identity (tests, VPC endpoints). */
  readonly sts_endpoint?: string;
  readonly assume_role_arn?: string;
  readonly external_id?: string;
  /** With assume_role_arn: AssumeRoleWithWebIdentity using this token file instead of AssumeRole. */
  readonly web_identity_token_file?: string;
  /** Exactly one of redshift and redshift_serverless is present. */
  readonly redshift?: AwsRedshiftConfig;
  readonly redshift_serverless?: AwsRedshiftServerlessConfig;
}

/** A database reached through an SSH bastion (jump host): each upstream connection is a channel of one shared SSH connection. */
export interface SshTunnelConfig {
  /** The bastion's host name or IP address. */
  readonly host: string;
  readonly port: number;
  /** The account Gatehouse logs in as on the bastion. */
  readonly user: string;
  /** Absolute path of Gatehouse's private key (default <data_dir>/ssh/<database>_ed25519, made by `gatehouse ssh-key show`). */
  readonly private_key_file: string;
  /** Absolute path of an OpenSSH known_hosts file that lists the bastion's host key: it is never trusted on first use. */
  readonly known_hosts_file: string;
  /** How often an SSH keepalive is sent while the connection is quiet (0: never). */
  readonly keepalive_interval_ms: number;
  /** Unanswered keepalives in a row after which the connection counts as dead. */
  readonly keepalive_count_max: number;
}

export interface DatabaseConfig {
  readonly name: string;
  readonly description: string;
  readonly protocol: 'postgres';
  /** 'postgres': a database somewhere else at `uri`. 'embedded': one Gatehouse starts itself. */
  readonly kind: 'postgres' | 'embedded';
  /** host:port; required for kind postgres unless `aws` is set; absent for embedded (known only after it starts). */
  readonly uri?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly tls: DatabaseTlsConfig;
  readonly auth?: DatabaseAuthConfig;
  /** Present exactly when kind is 'embedded'. */
  readonly embedded?: EmbeddedDatabaseConfig;
  /** Redshift or Redshift Serverless: the address and each session's password come from AWS. */
  readonly aws?: AwsConfig;
  /** Reach the database through this SSH bastion instead of dialling it directly; not with kind embedded. */
  readonly ssh_tunnel?: SshTunnelConfig;
}

export interface RoleConditions {
  /** Label name → allowed values; '*' as a key or value is a wildcard. */
  readonly db_labels?: Readonly<Record<string, readonly string[]>>;
  readonly db_users?: readonly string[];
  readonly db_names?: readonly string[];
}

export interface RoleOptions {
  /** Longest certificate a user of this role can get, in milliseconds. */
  readonly max_session_ttl_ms: number;
  /** Most sessions one user of this role may hold at once; the smallest among the user's roles applies. */
  readonly max_connections?: number;
  /** Idle timeout for this role's users; the smallest non-zero among the user's roles replaces the proxy's. */
  readonly client_idle_timeout_ms?: number;
  /** Users with this role may use the admin API (gatehouse status, sessions, locks, reload); absent means false. */
  readonly admin?: boolean;
}

export interface RoleConfig {
  readonly name: string;
  readonly allow: RoleConditions;
  readonly deny: RoleConditions;
  readonly options: RoleOptions;
}

export interface UserConfig {
  readonly name: string;
  readonly roles: readonly string[];
  readonly traits: Readonly<Record<string, readonly string[]>>;
}

export interface GatehouseConfig {
  readonly version: 'v1';
  /** Absolute path of the file this was loaded from (for messages). */
  readonly source: string;
  readonly proxy: ProxyConfig;
  readonly log: LogConfig;
  readonly audit: AuditConfig;
  readonly databases: readonly DatabaseConfig[];
  readonly roles: readonly RoleConfig[];
  readonly users: readonly UserConfig[];
}
