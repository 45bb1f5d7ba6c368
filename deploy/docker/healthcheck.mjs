// The container's HEALTHCHECK: GET /healthz on Gatehouse's own HTTPS listener, with no curl in the
// image. The certificate is not verified because this only asks "is the process alive and
// answering?" over loopback; nothing secret is sent and the answer grants nothing.
// GATEHOUSE_HEALTH_URL overrides the address when web_listen_addr is not port 3080 on all interfaces.
import https from 'node:https';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const url = process.env.GATEHOUSE_HEALTH_URL ?? 'https://127.0.0.1:3080/healthz';
const TIMEOUT_MS = 4000;

// A deadline for the whole check: a socket timeout alone does not cover a stalled TLS handshake.
setTimeout(() => {
  process.stderr.write(`${url}: no answer within ${TIMEOUT_MS} ms\n`);
  process.exit(1);
}, TIMEOUT_MS).unref();

const request = https.get(url, { rejectUnauthorized: false }, (response) => {
  response.resume();
  if (response.statusCode === 200) process.exit(0);
  process.stderr.write(`${url} answered HTTP ${response.statusCode}\n`);
  process.exit(1);
});
request.on('error', (error) => {
  process.stderr.write(`${url}: ${error.message}\n`);
  process.exit(1);
});
