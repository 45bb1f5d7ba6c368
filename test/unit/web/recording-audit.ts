// An AuditLog that keeps what the web endpoints record, for the unit tests to read.
import type { AdminActionRecord, AuditLog, CertIssuedRecord, LoginRecord, SessionAudit } from '../../../src/audit/events.js';

export class RecordingAudit implements AuditLog {
  readonly logins: LoginRecord[] = [];
  readonly certificates: CertIssuedRecord[] = [];
  readonly adminActions: AdminActionRecord[] = [];

  session(): SessionAudit {
    throw new Error('the web API opens no sessions');
  }

  denied(): void {
    throw new Error('the web API refuses no sessions');
  }

  login(record: LoginRecord): void {
    this.logins.push(record);
  }

  certIssued(record: CertIssuedRecord): void {
    this.certificates.push(record);
  }

  admin(record: AdminActionRecord): void {
    this.adminActions.push(record);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
