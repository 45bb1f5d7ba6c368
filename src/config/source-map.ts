// Finds where in the YAML text a config path such as databases[0].tls.mode was written, so that an
// error can say FILE:LINE:COL and an editor can jump there. Works on the `yaml` document's node
// ranges; a LineCounter turns offsets into 1-based lines and columns.
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;
export type ConfigPath = readonly PathSegment[];

/**
 * What of the path to point at: the value written there, or its key (for a key that should not be
 * there). When the path does not exist (a missing required key) both fall back to the deepest part of
 * the path that does exist, i.e. the mapping the key is missing from.
 */
export type Anchor = 'value' | 'key';

export interface Position {
  readonly line: number;
  readonly column: number;
}

export class SourceMap {
  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** The line and column where `path` (or the nearest existing part of it) starts. */
  position(path: ConfigPath, anchor: Anchor = 'value'): Position {
    return this.offsetToPosition(this.offset(path, anchor));
  }

  /** A 0-based character offset in the text as a 1-based line and column. */
  offsetToPosition(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  private offset(path: ConfigPath, anchor: Anchor): number {
    let node: unknown = this.document.contents;
    let best = startOf(node) ?? 0;
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair === undefined) return best;
        const keyStart = startOf(pair.key);
        const valueStart = startOf(pair.value);
        if (last && anchor === 'key' && keyStart !== undefined) return keyStart;
        // A key with no value ("tls:") has an empty scalar after the colon; the key is the better spot.
        const emptyValue = isScalar(pair.value) && pair.value.value === null && pair.value.source === '';
        best = (emptyValue ? keyStart : valueStart) ?? keyStart ?? best;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) return best;
        best = startOf(item) ?? best;
        node = item;
      } else {
        return best;
      }
    }
    return best;
  }
}

function startOf(node: unknown): number | undefined {
  const range = (node as Partial<Node> | null | undefined)?.range;
  return range === undefined || range === null ? undefined : range[0];
}
