/** The gateway's API as the screen calls it: same origin, the signed-in user's credential on every request. */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  sub: string;
  org: 'enterprise' | 'regulator';
  role: string;
  department?: string;
  expiresAt: string | null;
  views: View[];
  /** The enterprise (MSP id) every view is limited to; null: the regulator's people see every enterprise. */
  enterprise: string | null;
  timeZone: string;
}
export type View = 'alarms' | 'acknowledge' | 'permits' | 'kpis' | 'risk' | 'timeline' | 'verify';

async function failure(res: Response): Promise<ApiFailure> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return new ApiFailure(res.status, body.error?.code ?? 'HTTP', body.error?.message ?? text);
  } catch {
    return new ApiFailure(res.status, 'HTTP', text || res.statusText);
  }
}

export class Api {
  /** GETs sent ahead (prefetch), each handed to the first get() of its path. */
  private readonly early = new Map<string, Promise<unknown>>();

  constructor(private readonly credential: string) {}

  /**
   * Sends these GETs now, before anything asks for them: on a reload the page asks for the session
   * and the first view's data at once, instead of the data only after the session has come back.
   */
  prefetch(paths: readonly string[]): void {
    for (const p of paths) {
      const answer = this.fetchJson(p);
      // The failure, if any, is the later get()'s to handle (or nobody's, if the view never opens).
      answer.catch(() => undefined);
      this.early.set(p, answer);
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.credential}`, ...extra };
  }

  async get<T>(path: string): Promise<T> {
    const sent = this.early.get(path);
    if (sent) {
      this.early.delete(path);
      return (await sent) as T;
    }
    return this.fetchJson<T>(path);
  }

  private async fetchJson<T>(path: string): Promise<T> {
    const res = await fetch(path, { headers: this.headers() });
    if (!res.ok) throw await failure(res);
    return (await res.json()) as T;
  }

  /** A write: every POST carries a fresh Idempotency-Key, so a double click cannot write twice. */
  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(path, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() }),
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await failure(res);
    return (await res.json()) as T;
  }

  /** A download as a Blob, which the browser may keep on disk: a bundle with gigabytes of video is never in the page's memory. */
  async blob(path: string): Promise<Blob> {
    const res = await fetch(path, { headers: this.headers() });
    if (!res.ok) throw await failure(res);
    return res.blob();
  }

  /**
   * Reads a server-sent event stream with fetch (EventSource cannot send the Authorization
   * header) until `signal` aborts it; calls `onEvent` with each event's name and parsed data.
   */
  async stream(path: string, onEvent: (event: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(path, { headers: this.headers({ accept: 'text/event-stream' }), signal });
    if (!res.ok || !res.body) throw await failure(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
      }
    }
  }
}
