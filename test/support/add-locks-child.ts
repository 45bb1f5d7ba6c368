// A process of its own that adds locks to a shared data directory, as another worker or instance
// would: `node --import tsx add-locks-child.ts DATA_DIR PREFIX COUNT`. Used to check that changes
// made by several processes at once are all kept (test/unit/admin/lock-store-processes.test.ts).
import pino from 'pino';
import { LockStore } from '../../src/admin/lock-store.js';

const [dataDir, prefix, count] = process.argv.slice(2);
const store = new LockStore({ dataDir: dataDir as string, logger: pino({ level: 'silent' }) });
for (let index = 0; index < Number(count); index++) store.add({ user: `${prefix}-${index}`, reason: 'concurrency test', createdBy: 'test' });
