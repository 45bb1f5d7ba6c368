// Values Gatehouse uses when gatehouse.yaml leaves a key out, and the limits it holds configs to;
// kept apart from the schema so code that only needs a number (RBAC, tests) does not load zod.

export const DEFAULT_POSTGRES_LISTEN_ADDR = '0.0.0.0:5432';
export const DEFAULT_WEB_LISTEN_ADDR = '0.0.0.0:3080';
export const DEFAULT_PUBLIC_ADDR = 'localhost';
export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_STARTUP_TIMEOUT = '10s';
export const DEFAULT_CONNECT_TIMEOUT = '10s';
export const DEFAULT_LOGIN_MAX_FAILURES = 5;
export const DEFAULT_LOGIN_LOCKOUT = '5m';
export const DEFAULT_SHUTDOWN_GRACE = '30s';
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** The most max_connections can say (proxy-wide or per role); far beyond what one process serves. */
export const MAX_MAX_CONNECTIONS = 1_000_000;
/** Off: a session may sit idle as long as its certificate lives. */
export const DEFAULT_CLIENT_IDLE_TIMEOUT = '0';
/** Below the 350 s idle timeout of AWS NLBs and the 4-10 min of most other load balancers. */
export const DEFAULT_TCP_KEEPALIVE = '60s';
/** proxy.workers: 'auto' is os.availableParallelism(); a number is that many processes, up to MAX_WORKERS. */
export const DEFAULT_WORKERS = 'auto';
/** Cancel keys carry the worker's index in 6 bits (src/proxy/cancel-keys.ts). */
export const MAX_WORKERS = 64;
/** The port a database uri means when it names none. */
export const DEFAULT_POSTGRES_PORT = 5432;

/** The longest certificate Gatehouse issues; a role may shorten it, not lengthen it. */
export const MAX_SESSION_TTL_MS = 12 * 3_600_000;
/** A shorter session TTL than this leaves no time to connect; it is a typo for a longer one. */
export const MIN_SESSION_TTL_MS = 60_000;
/** Node's timers fire at once past 2^31-1 ms; a connection timeout beyond a day is a mistake anyway. */
export const MAX_TIMEOUT_MS = 24 * 3_600_000;
/** The port a Redshift database uri means when it names none. */
export const DEFAULT_REDSHIFT_PORT = 5439;
/** The range AWS allows for a minted Redshift password's lifetime, and the default (AWS's own). */
export const MIN_AWS_CREDENTIAL_DURATION_MS = 900_000;
export const MAX_AWS_CREDENTIAL_DURATION_MS = 3_600_000;
export const DEFAULT_AWS_CREDENTIAL_DURATION = '15m';
/** ssh_tunnel: the bastion's port, and the keepalive dbt Cloud recommends for bastions behind a load balancer. */
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_SSH_KEEPALIVE_INTERVAL = '30s';
export const DEFAULT_SSH_KEEPALIVE_COUNT_MAX = 10;
export const MAX_SSH_KEEPALIVE_COUNT_MAX = 1000;
