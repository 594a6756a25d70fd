import { Chalk, type ChalkInstance } from 'chalk';

/** Where the CLI writes; the only module that knows about colour. */
export interface OutputOptions {
  color: boolean;
  verbose: boolean;
  json: boolean;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Line-oriented terminal output with an optional one-line live status on a TTY. */
export class Output {
  readonly c: ChalkInstance;
  private live = '';
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly opts: OutputOptions) {
    this.c = new Chalk({ level: opts.color ? 1 : 0 });
  }

  get isTTY(): boolean {
    return Boolean(this.opts.stderr.isTTY) && !this.opts.json;
  }

  /** A normal line on stdout (suppressed in --json mode, where stdout is the JSON document). */
  line(text = ''): void {
    if (this.opts.json) return;
    this.withLiveCleared(() => this.opts.stdout.write(`${text}\n`));
  }

  /** Progress and diagnostics go to stderr, so `--json` stdout stays parseable. */
  info(text: string): void {
    this.withLiveCleared(() => this.opts.stderr.write(`${text}\n`));
  }

  verbose(text: string): void {
    if (this.opts.verbose) this.info(this.c.dim(text));
  }

  warn(text: string): void {
    this.info(this.c.yellow(`warning: ${text}`));
  }

  error(text: string): void {
    this.stopLive();
    this.opts.stderr.write(`${this.c.red('collab:')} ${text}\n`);
  }

  /** Writes a JSON document to stdout (read commands with --json). */
  json(value: unknown): void {
    this.opts.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Shows a spinner line on a TTY; plain lines are printed instead elsewhere. */
  setLive(text: string): void {
    if (!this.isTTY) return;
    this.live = text;
    if (!this.timer) {
      this.timer = setInterval(() => this.drawLive(), 100);
      this.timer.unref();
    }
    this.drawLive();
  }

  stopLive(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live && this.isTTY) this.opts.stderr.write('\r\x1b[2K');
    this.live = '';
  }

  private drawLive(): void {
    if (!this.live) return;
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    this.frame = (this.frame + 1) % frames.length;
    const cols = (this.opts.stderr as { columns?: number }).columns ?? 100;
    const text = `${frames[this.frame]} ${this.live}`.slice(0, Math.max(10, cols - 1));
    this.opts.stderr.write(`\r\x1b[2K${this.c.cyan(text)}`);
  }

  private withLiveCleared(fn: () => void): void {
    if (this.live && this.isTTY) this.opts.stderr.write('\r\x1b[2K');
    fn();
    if (this.live && this.isTTY) this.drawLive();
  }
}
