// `gatehouse start`: validate the config, create the CAs on first start, run the daemon until a
// signal, and tell the person at the terminal exactly what to run next. SIGTERM/SIGINT drain:
// running sessions get proxy.shutdown_grace to end (exit 0), then are ended (exit 143). SIGHUP
// reloads gatehouse.yaml and the users file (an invalid file is logged and changes nothing).
// With proxy.workers > 1 this process is the primary of that many workers (src/cluster/primary.ts):
// the signals keep their meaning, and the primary passes them on to the workers.
import type { Command } from 'commander';
import pino from 'pino';
import { loadConfigFile } from '../config/load.js';
import type { GatehouseConfig } from '../config/types.js';
import type { ClusterPrimary } from '../cluster/primary.js';
import { ownAllocator } from '../cluster/worker-allocator.js';
import { workerCount } from '../cluster/worker-count.js';
import type { Daemon } from '../daemon.js';
import { createLogger } from '../logging.js';
import { reportCliError } from './cli-errors.js';
import { nextSteps } from './start-next-steps.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the Gatehouse daemon')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action(async (options: { config: string }) => {
      let config: GatehouseConfig;
      try {
        config = loadConfigFile(options.config);
      } catch (error) {
        return reportCliError(error);
      }
      const logStream = pino.destination(2);
      const logger = createLogger(config.log.level, logStream);
      let daemon: Daemon | ClusterPrimary;
      try {
        const workers = workerCount(config.proxy.workers);
        if (workers > 1) {
          const { ClusterPrimary } = await import('../cluster/primary.js');
          daemon = await ClusterPrimary.start({ configFile: options.config, logger, workers });
        } else {
          const allocator = ownAllocator(config.proxy.allocator);
          logger.info({ allocator: allocator.name, detail: allocator.detail }, `gatehouse uses the ${allocator.name} allocator`);
          // Loaded here, not at the top: the daemon pulls in the AWS SDK, which every other
          // gatehouse command (users, certs, config check) would otherwise load for nothing.
          const { Daemon } = await import('../daemon.js');
          daemon = await Daemon.start({ config, logger });
        }
      } catch (error) {
        logger.fatal({ err: error }, 'gatehouse could not start');
        // Through the log's own stream, which writes asynchronously: the message and hint are then
        // the last lines on the terminal, after every log line, and not somewhere among them.
        return reportCliError(error, (text) => void logStream.write(text));
      }
      process.stdout.write(nextSteps(daemon.config, daemon, options.config));
      const reload = () => {
        try {
          daemon.reloadOnSignal();
        } catch (error) {
          // A reload must never take the daemon down; the configuration in force stays.
          logger.error({ err: error }, 'reload on SIGHUP failed');
        }
      };
      process.on('SIGHUP', reload);
      // The handler stays during the drain too: without one, SIGHUP would kill the process.
      await waitForStopSignal();
      // A second SIGTERM or SIGINT while draining ends the grace period at once.
      const interrupt = new AbortController();
      const stopNow = () => interrupt.abort();
      process.on('SIGINT', stopNow);
      process.on('SIGTERM', stopNow);
      const { drained } = await daemon.stop({ graceMs: daemon.config.proxy.shutdown_grace_ms, interrupt: interrupt.signal });
      // 143 (128 + SIGTERM) tells an orchestrator that sessions were cut off rather than drained.
      process.exitCode = drained ? 0 : EXIT_SESSIONS_CUT_OFF;
    });
}

const EXIT_SESSIONS_CUT_OFF = 143;

function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
