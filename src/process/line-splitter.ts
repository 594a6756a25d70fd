import { StringDecoder } from 'node:string_decoder';

/** Turns a byte stream into whole lines; multi-byte characters split across chunks are kept intact. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** Everything decoded so far, for the run's whole-output result. */
  text = '';

  constructor(private readonly onLine: (line: string) => void) {}

  /** Feeds one chunk; calls onLine for every line it completes. */
  push(chunk: Buffer | string): void {
    this.consume(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  /** Ends the stream: a last line without a newline is still a line. */
  end(): void {
    this.consume(this.decoder.end());
    if (this.partial !== '') {
      const last = stripCr(this.partial);
      this.partial = '';
      this.onLine(last);
    }
  }

  private consume(decoded: string): void {
    if (decoded === '') return;
    this.text += decoded;
    const pieces = (this.partial + decoded).split('\n');
    this.partial = pieces.pop() ?? '';
    for (const line of pieces) this.onLine(stripCr(line));
  }
}

function stripCr(line: string): string {
  // CRLF from Windows-minded tools: the CR is not part of the line.
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
