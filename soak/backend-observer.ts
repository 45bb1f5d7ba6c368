// Watches the soak's sessions from inside PostgreSQL, over the soak's own direct connection (not
// through Gatehouse): the cancel operation waits until the session's backend is really running its
// statement before sending a CancelRequest. A cancel that arrives earlier is ignored by PostgreSQL,
// and sending another one later can cancel the session's next statement instead, because nothing
// ever acknowledges a cancel; so the soak sends exactly one, at a moment it is certain to work.
import type pg from 'pg';

const POLL_MS = 50;

export class BackendObserver {
  constructor(private readonly client: pg.Client) {}

  /** Resolves once the backend with this application_name is active on a query starting with `queryStart`. */
  async waitUntilRunning(applicationName: string, queryStart: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await this.client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND starts_with(query, $2)",
        [applicationName, queryStart],
      );
      if ((result.rows[0]?.n ?? 0) > 0) return;
      if (Date.now() > deadline) throw new Error(`the backend of ${applicationName} was not running ${JSON.stringify(queryStart)} within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
