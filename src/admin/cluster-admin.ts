// The admin API's questions in a multi-process Gatehouse (proxy.workers > 1): an admin request
// reaches one worker, but sessions live in every worker and each holds its own copy of the
// configuration and locks. So listing and killing sessions, enforcing a new lock and reloading are
// run in every worker through ClusterPeers (src/cluster/cluster-peers.ts) and their answers
// combined. Payloads and answers cross the IPC channel as JSON: no undefined, no class instances.
import type { ClusterPeers } from '../cluster/cluster-peers.js';
import type { ReloadOutcome } from './config-reload.js';
import type { EndedSession } from './session-recheck.js';
import type { SessionDirectory, SessionView } from './session-directory.js';

const OPS = {
  list: 'admin.sessions.list',
  kill: 'admin.sessions.kill',
  enforce: 'admin.enforce',
  reload: 'admin.reload',
} as const;

/** What one process answers for itself. */
export interface LocalAdmin {
  readonly sessions: SessionDirectory;
  /** Reads the locks file if it changed (a lock another worker just wrote), then re-decides this process's sessions. */
  enforceNow(): EndedSession[];
  reload(): ReloadOutcome;
}

export interface ClusterAdmin {
  readonly sessions: SessionDirectory;
  enforce(): Promise<EndedSession[]>;
  reload(): Promise<ReloadOutcome>;
}

/** Registers this process's answers with `peers` and returns the operations that ask every process. */
export function clusterAdmin(peers: ClusterPeers, local: LocalAdmin): ClusterAdmin {
  peers.handle(OPS.list, () => local.sessions.list());
  peers.handle(OPS.kill, async (payload) => {
    const { id, admin, reason } = payload as { id: string; admin: string; reason: string | null };
    return (await local.sessions.kill(id, admin, reason ?? undefined)) ?? null;
  });
  peers.handle(OPS.enforce, () => local.enforceNow());
  peers.handle(OPS.reload, () => local.reload());
  return {
    sessions: {
      list: async () => {
        const { answers } = await peers.gather<SessionView[]>(OPS.list);
        return answers.flatMap((answer) => answer.value).sort((a, b) => a.started_at.localeCompare(b.started_at));
      },
      kill: async (id, admin, reason) => {
        const { answers } = await peers.gather<SessionView | null>(OPS.kill, { id, admin, reason: reason ?? null });
        return answers.find((answer) => answer.value !== null)?.value ?? undefined;
      },
    },
    enforce: async () => (await peers.gather<EndedSession[]>(OPS.enforce)).answers.flatMap((answer) => answer.value),
    reload: async () => {
      const { answers, failed } = await peers.gather<ReloadOutcome>(OPS.reload);
      // Every worker read the same file: one that refused it speaks for all.
      const refused = answers.find((answer) => !answer.value.ok);
      if (refused !== undefined) return refused.value;
      if (answers.length === 0) return { ok: false, errors: failed.map((failure) => `worker ${failure.worker}: ${failure.error}`) };
      const warnings = [...new Set(answers.flatMap((answer) => (answer.value.ok ? answer.value.warnings : [])))];
      for (const failure of failed) warnings.push(`worker ${failure.worker} did not confirm the reload: ${failure.error}`);
      return { ok: true, warnings, sessionsEnded: answers.flatMap((answer) => (answer.value.ok ? answer.value.sessionsEnded : [])) };
    },
  };
}
