// A stopwatch for one connection's way from the client's StartupMessage to ReadyForQuery, lap by
// lap: everything before dialling (identify, authorize, credentials, endpoint lookup), the upstream
// dial with its SSLRequest exchange, the TLS handshake, the upstream login. It only remembers the
// laps; GatehouseMetrics records them once the session is ready, so failed connections (counted as
// refusals instead) do not mix into the latencies of working ones.

export type ConnectPhase = 'credentials' | 'dial' | 'tls' | 'auth';

export class ConnectTimer {
  private readonly startedAt: number;
  private last: number;
  private readonly recorded: { phase: ConnectPhase; seconds: number }[] = [];

  /** `now`: a monotonic clock in milliseconds (performance.now in production). */
  constructor(private readonly now: () => number) {
    this.startedAt = now();
    this.last = this.startedAt;
  }

  /** Records the time since the previous lap (or the start) as `phase`. */
  lap(phase: ConnectPhase): void {
    const at = this.now();
    this.recorded.push({ phase, seconds: (at - this.last) / 1000 });
    this.last = at;
  }

  get laps(): readonly { readonly phase: ConnectPhase; readonly seconds: number }[] {
    return this.recorded;
  }

  /** Seconds since the timer started. */
  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }
}
