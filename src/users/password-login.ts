// The whole decision of one password login, without HTTP: throttle, password, TOTP. The web API
// turns the outcome into a response and an audit event. What a client learns is deliberately
// little: an unknown user, a user without a password and a wrong password all get the same
// answer after the same scrypt work; only a caller who knows the password learns that a TOTP code
// is needed. The precise reason is returned separately, for the audit log only.
import type { GatehouseConfig, UserConfig } from '../config/types.js';
import { ErrorCodes } from '../errors.js';
import type { LoginThrottle } from './login-throttle.js';
import { verifyPassword } from './password-hash.js';
import { matchTotp } from './totp.js';
import type { StoredUser } from './users-file.js';

/** 'GH_ERR_LOGIN_FAILED' | 'GH_ERR_TOTP_REQUIRED' | 'GH_ERR_TOTP_INVALID' | 'GH_ERR_LOGIN_THROTTLED' */
export type LoginFailureCode = (typeof ErrorCodes)['LOGIN_FAILED' | 'TOTP_REQUIRED' | 'TOTP_INVALID' | 'LOGIN_THROTTLED'];

export type LoginOutcome =
  | { ok: true; user: UserConfig; mfa: boolean }
  | {
      ok: false;
      code: LoginFailureCode;
      message: string;
      retryAfterMs?: number;
      /** For the audit log only: unknown user, wrong password, … */
      reason: string;
    };

export interface LoginRequest {
  user: string;
  password: string;
  totpCode?: string;
  clientAddress: string;
}

export interface PasswordLoginOptions {
  /** The merged config (gatehouse.yaml plus the users file): who exists and with which roles. */
  config: () => GatehouseConfig;
  /** Where login secrets come from (the UserDirectory). */
  directory: { find(name: string): StoredUser | undefined };
  throttle: LoginThrottle;
  now?: () => number;
}

export const LOGIN_FAILED_MESSAGE = 'invalid user name or password';
export const TOTP_REQUIRED_MESSAGE = 'this user has a TOTP authenticator enrolled; send the current 6-digit code too';
export const TOTP_INVALID_MESSAGE = 'the TOTP code is wrong or was already used; wait for the next code and try again';

export class PasswordLogin {
  private readonly options: PasswordLoginOptions;
  private readonly now: () => number;
  /** User → the last TOTP time step accepted for them (with the secret it was for), so each code works once. */
  private readonly acceptedSteps = new Map<string, { secret: string; step: number }>();

  constructor(options: PasswordLoginOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  async login(request: LoginRequest): Promise<LoginOutcome> {
    const { throttle } = this.options;
    const waitMs = throttle.retryAfterMs(request.user, request.clientAddress);
    if (waitMs > 0) {
      return {
        ok: false,
        code: ErrorCodes.LOGIN_THROTTLED,
        message: `too many failed logins; try again in ${Math.ceil(waitMs / 1000)} s`,
        retryAfterMs: waitMs,
        reason: 'throttled',
      };
    }

    const user = this.options.config().users.find((candidate) => candidate.name === request.user);
    const secrets = user === undefined ? undefined : this.options.directory.find(request.user);
    // verifyPassword runs scrypt even without a hash, so every failure below costs the same time.
    const passwordMatches = await verifyPassword(request.password, secrets?.password_hash);
    if (user === undefined || secrets?.password_hash === undefined || !passwordMatches) {
      throttle.recordFailure(request.user, request.clientAddress);
      const reason = user === undefined ? 'unknown user' : secrets?.password_hash === undefined ? 'no password set' : 'wrong password';
      return { ok: false, code: ErrorCodes.LOGIN_FAILED, message: LOGIN_FAILED_MESSAGE, reason };
    }

    const secret = secrets.totp_secret;
    if (secret !== undefined) {
      // Not a failure: the password was right and the client is asked for the second factor.
      // Authenticator apps show "123 456"; people type it that way.
      const code = request.totpCode?.replace(/\s+/g, '') ?? '';
      if (code === '') {
        return { ok: false, code: ErrorCodes.TOTP_REQUIRED, message: TOTP_REQUIRED_MESSAGE, reason: 'TOTP code required' };
      }
      const step = matchTotp(secret, code, this.now());
      // Checked and recorded with no await in between, so two concurrent logins cannot both use one code.
      const accepted = this.acceptedSteps.get(user.name);
      const reused = step !== undefined && accepted !== undefined && accepted.secret === secret && step <= accepted.step;
      if (step === undefined || reused) {
        throttle.recordFailure(request.user, request.clientAddress);
        return { ok: false, code: ErrorCodes.TOTP_INVALID, message: TOTP_INVALID_MESSAGE, reason: reused ? 'reused TOTP code' : 'wrong TOTP code' };
      }
      this.acceptedSteps.set(user.name, { secret, step });
    }

    throttle.recordSuccess(request.user, request.clientAddress);
    return { ok: true, user, mfa: secret !== undefined };
  }
}
