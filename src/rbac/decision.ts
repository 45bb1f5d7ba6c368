// The answer RBAC gives: allowed or not, and a sentence for the person at psql saying why.

export interface Decision {
  readonly allowed: boolean;
  /** A full sentence naming the user, the db user, the database and the role or missing permission. */
  readonly reason: string;
}

export function allow(reason: string): Decision {
  return { allowed: true, reason };
}

export function deny(reason: string): Decision {
  return { allowed: false, reason };
}
