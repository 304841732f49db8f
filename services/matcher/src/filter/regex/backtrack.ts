import type { Node } from './ast.js';
import { nullable } from './ast.js';
import type { Ranges, UnicodeTables } from './charset.js';
import { intersect, subtract } from './charset.js';
import { nodeRanges } from './class-ranges.js';

/**
 * A backtracking matcher with memoization (RE2's "BitState" in JavaScript) for ASCII subject text.
 *
 * Why: node-re2 costs 2-30 µs per exec() (result objects built through the addon API, and RE2's
 * NFA/BitState on programs that Unicode classes and rewritten look-arounds make large), which
 * caps the matcher at a few ten thousand lines per second. This engine runs the same rewritten tree
 * in-process on ASCII text. Every (instruction, position) state is explored at most once, so the
 * work is bounded by program size x text length, and a step budget hands unusual lines back to RE2.
 *
 * Semantics are RE2's leftmost-first (Perl) ones: alternatives and repetitions are tried in
 * priority order, the first complete path wins, and a state seen before can only fail again. On
 * ASCII text, cutting every character set to its ASCII part is exact. Repetitions of a sub-pattern
 * that can match the empty string are where RE2 and a plain backtracker may disagree; patterns with
 * one are not compiled (the caller keeps RE2 for them).
 */

const OP_MATCH = 0;
const OP_CHAR = 1;
const OP_SET = 2;
const OP_SPLIT = 3;
const OP_JMP = 4;
const OP_SAVE = 5;
const OP_ASSERT = 6;
const OP_FAIL = 7;
/**
 * Greedy repetition of one character set: scans the run, then tries the rest longest first.
 * b: 1 + the one ASCII character the set lacks (the run ends at its next occurrence, found by a
 * native indexOf), or 0.
 */
const OP_STAR = 8;
/** A string of ASCII characters (literals[a], b long), compared in one step. */
const OP_STR = 9;

const A_BEGIN = 0; // \A
const A_END_LINE = 1; // (?m:$)
const A_BEGIN_LINE = 2; // (?m:^)
const A_END = 3; // \z
const A_WORD_B = 4; // \b (ASCII)
const A_NOT_WORD_B = 5; // \B (ASCII)

// Stack frames are three ints: (pc, pos, RUN) | (slot, value, RESTORE) | (pc, pos, lowest >= 0).
const F_RUN = -1;
const F_RESTORE = -2;

const MAX_PROGRAM = 20_000;
const ASCII_RANGE: Ranges = [0, 0x7f];

export interface Program {
  /** op, a, b per instruction. */
  readonly code: Int32Array;
  readonly length: number;
  /** 4 x 32-bit words per set: membership of code points 0..127. */
  readonly sets: Int32Array;
  /** Per instruction, 4 words: the characters a path from there can consume first. */
  readonly first: Int32Array;
  /** Per instruction: 1 when a path from there can reach the end of the pattern without consuming. */
  readonly zeroWidth: Uint8Array;
  /** Capture slots: 0/1 the whole match, then 2k/2k+1 for capture k. */
  readonly slots: number;
  /** Starts with \A: only position 0 is tried. */
  readonly anchored: boolean;
  /** Operands of OP_STR. */
  readonly literals: readonly string[];
}

export class NotCompilable extends Error {}

/**
 * Compiles a rewritten tree (no look-arounds, conditionals or back-references left). `captureIds`
 * lists the capture node ids to record, in the order their slots are numbered (1, 2, ...); other
 * captures are plain groups. Throws NotCompilable for what this engine does not take.
 */
export function compileProgram(root: Node, tables: UnicodeTables, captureIds: readonly number[]): Program {
  const slotOf = new Map<number, number>();
  captureIds.forEach((id, k) => slotOf.set(id, 2 * (k + 1)));
  const code: number[] = [];
  const sets: number[] = [];
  const setIndex = new Map<string, number>();

  const emit = (op: number, a = 0, b = 0): number => {
    const pc = code.length / 3;
    if (pc >= MAX_PROGRAM) throw new NotCompilable('program too large');
    code.push(op, a, b);
    return pc;
  };
  const patch = (pc: number, field: 1 | 2, value: number): void => {
    code[pc * 3 + field] = value;
  };
  const here = (): number => code.length / 3;

  const asciiSet = (n: Node): Ranges => intersect(nodeRanges(n, tables), ASCII_RANGE);
  const setOf = (r: Ranges): number => {
    const words = [0, 0, 0, 0];
    for (let i = 0; i < r.length; i += 2) {
      for (let c = r[i] as number; c <= (r[i + 1] as number); c++) words[c >> 5] = ((words[c >> 5] as number) | (1 << (c & 31))) | 0;
    }
    const key = words.join(',');
    let idx = setIndex.get(key);
    if (idx === undefined) {
      idx = sets.length / 4;
      sets.push(...words);
      setIndex.set(key, idx);
    }
    return idx;
  };

  const literals: string[] = [];
  /** The one ASCII character of a single-character node, if that is what it is. */
  const exactChar = (n: Node): number | undefined => {
    if (n.t !== 'char' && n.t !== 'cls' && n.t !== 'set') return undefined;
    const r = asciiSet(n);
    return r.length === 2 && r[0] === r[1] ? r[0] : undefined;
  };

  const charSet = (n: Node): void => {
    const r = asciiSet(n);
    if (r.length === 0) emit(OP_FAIL);
    else if (r.length === 2 && r[0] === r[1]) emit(OP_CHAR, r[0] as number);
    else emit(OP_SET, setOf(r));
  };

  const compile = (n: Node): void => {
    switch (n.t) {
      case 'empty':
        return;
      case 'char':
      case 'cls':
      case 'set':
        charSet(n);
        return;
      case 'seq': {
        // Runs of exact characters become one OP_STR. Jumps only ever target the start of an
        // item, so no path enters a run in its middle.
        const items = n.items;
        for (let i = 0; i < items.length; ) {
          let j = i;
          let lit = '';
          for (let c = exactChar(items[j] as Node); c !== undefined; c = j < items.length ? exactChar(items[j] as Node) : undefined) {
            lit += String.fromCharCode(c);
            j++;
          }
          if (lit.length >= 2) {
            literals.push(lit);
            emit(OP_STR, literals.length - 1, lit.length);
            i = j;
          } else {
            compile(items[i] as Node);
            i++;
          }
        }
        return;
      }
      case 'alt': {
        const jumps: number[] = [];
        n.items.forEach((it, i) => {
          if (i < n.items.length - 1) {
            const split = emit(OP_SPLIT);
            patch(split, 1, here());
            compile(it);
            jumps.push(emit(OP_JMP));
            patch(split, 2, here());
          } else {
            compile(it);
          }
        });
        for (const j of jumps) patch(j, 1, here());
        return;
      }
      case 'cap': {
        const slot = slotOf.get(n.id);
        if (slot !== undefined) emit(OP_SAVE, slot);
        compile(n.body);
        if (slot !== undefined) emit(OP_SAVE, slot + 1);
        return;
      }
      case 'group':
        compile(n.body);
        return;
      case 'repeat':
        compileRepeat(n);
        return;
      case 'assert':
        emit(OP_ASSERT, assertKind(n.kind));
        return;
      default:
        throw new NotCompilable(`${n.t} left in the tree`);
    }
  };

  const optional = (body: Node, lazy: boolean, rest: () => void): void => {
    // x? : SPLIT(x, skip) greedy, SPLIT(skip, x) lazy.
    const split = emit(OP_SPLIT);
    const start = here();
    compile(body);
    rest();
    const end = here();
    if (lazy) {
      patch(split, 1, end);
      patch(split, 2, start);
    } else {
      patch(split, 1, start);
      patch(split, 2, end);
    }
  };

  const compileRepeat = (n: Extract<Node, { t: 'repeat' }>): void => {
    if (nullable(n.body) && n.max === Number.POSITIVE_INFINITY) throw new NotCompilable('repetition of an empty-matching sub-pattern');
    for (let i = 0; i < n.min; i++) compile(n.body);
    if (n.max === Number.POSITIVE_INFINITY) {
      const single = n.body.t === 'char' || n.body.t === 'cls' || n.body.t === 'set' ? asciiSet(n.body) : undefined;
      if (single && !n.lazy) {
        if (single.length > 0) {
          const lacks = subtract(ASCII_RANGE, single);
          emit(OP_STAR, setOf(single), lacks.length === 2 && lacks[0] === lacks[1] ? (lacks[0] as number) + 1 : 0);
        }
        return;
      }
      // L: SPLIT(body, out) ; body ; JMP L
      const loop = emit(OP_SPLIT);
      const start = here();
      compile(n.body);
      emit(OP_JMP, loop);
      const out = here();
      if (n.lazy) {
        patch(loop, 1, out);
        patch(loop, 2, start);
      } else {
        patch(loop, 1, start);
        patch(loop, 2, out);
      }
      return;
    }
    // x{0,k}: nested optionals (x(x(x)?)?)?, as RE2 expands them.
    const nest = (k: number): void => {
      if (k === 0) return;
      optional(n.body, n.lazy, () => nest(k - 1));
    };
    nest(n.max - n.min);
  };

  emit(OP_SAVE, 0);
  compile(root);
  emit(OP_SAVE, 1);
  emit(OP_MATCH);
  const codeArr = Int32Array.from(code);
  const setArr = Int32Array.from(sets);
  const { first, zeroWidth } = firstSets(codeArr, setArr, literals);
  return {
    code: codeArr,
    length: codeArr.length / 3,
    sets: setArr,
    first,
    zeroWidth,
    slots: 2 * (captureIds.length + 1),
    anchored: anchoredAtStart(root),
    literals,
  };
}

/**
 * For each instruction, the characters its paths can consume first (fixpoint over the program
 * graph). Lets a split skip a branch, and a repetition skip a length, whose next character cannot
 * be consumed there: such a path would fail at once, so skipping it does not change the result.
 */
function firstSets(code: Int32Array, sets: Int32Array, literals: readonly string[]): { first: Int32Array; zeroWidth: Uint8Array } {
  const len = code.length / 3;
  const first = new Int32Array(len * 4);
  const zeroWidth = new Uint8Array(len);
  let changed = true;
  const merge = (to: number, from: number): void => {
    for (let w = 0; w < 4; w++) {
      const v = ((first[to * 4 + w] as number) | (first[from * 4 + w] as number)) | 0;
      if (v !== first[to * 4 + w]) {
        first[to * 4 + w] = v;
        changed = true;
      }
    }
    if (zeroWidth[from] && !zeroWidth[to]) {
      zeroWidth[to] = 1;
      changed = true;
    }
  };
  const addSet = (to: number, set: number): void => {
    for (let w = 0; w < 4; w++) {
      const v = ((first[to * 4 + w] as number) | (sets[set * 4 + w] as number)) | 0;
      if (v !== first[to * 4 + w]) {
        first[to * 4 + w] = v;
        changed = true;
      }
    }
  };
  while (changed) {
    changed = false;
    for (let pc = len - 1; pc >= 0; pc--) {
      const op = code[pc * 3] as number;
      const a = code[pc * 3 + 1] as number;
      switch (op) {
        case OP_CHAR:
        case OP_STR: {
          const ch = op === OP_CHAR ? a : (literals[a] as string).charCodeAt(0);
          const w = pc * 4 + (ch >> 5);
          const v = ((first[w] as number) | (1 << (ch & 31))) | 0;
          if (v !== first[w]) {
            first[w] = v;
            changed = true;
          }
          break;
        }
        case OP_SET:
          addSet(pc, a);
          break;
        case OP_STAR:
          addSet(pc, a);
          merge(pc, pc + 1);
          break;
        case OP_SPLIT:
          merge(pc, a);
          merge(pc, code[pc * 3 + 2] as number);
          break;
        case OP_JMP:
          merge(pc, a);
          break;
        case OP_SAVE:
          merge(pc, pc + 1);
          break;
        case OP_ASSERT:
          // An assertion only filters: what follows it still has to consume the next character.
          merge(pc, pc + 1);
          break;
        case OP_MATCH:
          if (!zeroWidth[pc]) {
            zeroWidth[pc] = 1;
            changed = true;
          }
          break;
        default:
          break;
      }
    }
  }
  return { first, zeroWidth };
}

/** Whether every path starts with \A: then only position 0 is tried. */
function anchoredAtStart(n: Node): boolean {
  switch (n.t) {
    case 'assert':
      return n.kind === 'bol' || n.kind === 'A';
    case 'seq':
      return n.items.length > 0 && anchoredAtStart(n.items[0] as Node);
    case 'alt':
      return n.items.every(anchoredAtStart);
    case 'cap':
    case 'group':
      return anchoredAtStart(n.body);
    case 'repeat':
      return n.min > 0 && anchoredAtStart(n.body);
    default:
      return false;
  }
}

function assertKind(kind: Extract<Node, { t: 'assert' }>['kind']): number {
  switch (kind) {
    case 'bol':
    case 'A':
      return A_BEGIN;
    case 'eol':
    case 'eol-m':
      return A_END_LINE;
    case 'bol-m':
      return A_BEGIN_LINE;
    case 'z':
      return A_END;
    case 'wb':
      return A_WORD_B;
    case 'nwb':
      return A_NOT_WORD_B;
  }
}

/** Reusable buffers for runs (one per thread of work; matching is synchronous). */
export class Scratch {
  /**
   * Run number per (instruction, position) state when last seen: equal to `epoch` means seen in
   * this run, so nothing is cleared between runs. One byte per state (a wrap costs one clear per
   * 255 runs) keeps the grid small in the cache.
   */
  visited: Uint8Array = new Uint8Array(1 << 16);
  epoch = 0;
  stack: Int32Array = new Int32Array(3 << 10);
  /** Highest subject position any path looked at in the last run (n: the end was seen). */
  maxRead = -1;
  /** Steps the last run took. */
  steps = 0;

  prepare(states: number): void {
    if (this.visited.length < states) {
      this.visited = new Uint8Array(Math.max(states, this.visited.length * 2));
      this.epoch = 0;
    }
    this.epoch++;
    if (this.epoch === 0x100) {
      this.visited.fill(0);
      this.epoch = 1;
    }
  }

  grow(): Int32Array {
    const s = new Int32Array(this.stack.length * 2);
    s.set(this.stack);
    this.stack = s;
    return s;
  }
}

export const RUN_NOMATCH = 0;
export const RUN_MATCH = 1;
/** The step budget ran out: the caller decides with RE2 instead. */
export const RUN_ABORTED = -1;

function isWordCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/**
 * Runs `prog` on the subject s[begin, end) followed, if `nl`, by one '\n' (fail2ban appends it to
 * every buffer). The subject must be ASCII. Fills `caps` (subject-relative; -1: did not take part)
 * and returns RUN_MATCH, RUN_NOMATCH or RUN_ABORTED once more than `budget` steps were taken.
 */
export function run(prog: Program, s: string, begin: number, end: number, nl: boolean, caps: Int32Array, scratch: Scratch, budget: number): number {
  const textLen = end - begin;
  const n = textLen + (nl ? 1 : 0);
  const width = n + 1;
  scratch.prepare(prog.length * width);
  const visited = scratch.visited;
  const epoch = scratch.epoch;
  const code = prog.code;
  const sets = prog.sets;
  const first = prog.first;
  const zeroWidth = prog.zeroWidth;
  const slots = prog.slots;
  let stack: Int32Array = scratch.stack;
  let steps = 0;
  let maxRead = -1;
  const lastStart = prog.anchored ? 0 : n;
  const startSkip = zeroWidth[0] === 0;
  // Once per run: every capture write pushes its undo, so a failed start leaves all slots at -1.
  for (let i = 0; i < slots; i++) caps[i] = -1;
  for (let start = 0; start <= lastStart; start++) {
    if (startSkip) {
      // Like memchr: a match cannot start where no path can consume the character.
      if (start > maxRead) maxRead = start;
      if (start >= n) break;
      const c = start < textLen ? s.charCodeAt(begin + start) : 10;
      if (c > 127 || (((first[c >> 5] as number) >>> (c & 31)) & 1) === 0) continue;
    }
    let sp = 0;
    stack[0] = 0;
    stack[1] = start;
    stack[2] = F_RUN;
    sp = 3;
    while (sp > 0) {
      sp -= 3;
      let pc = stack[sp] as number;
      let pos = stack[sp + 1] as number;
      const kind = stack[sp + 2] as number;
      if (kind === F_RESTORE) {
        caps[pc] = pos;
        continue;
      }
      if (kind >= 0) {
        // Remaining lengths of a greedy repetition, longest first; skip those whose next
        // character the rest cannot consume.
        if (zeroWidth[pc] === 0) {
          const f = pc * 4;
          while (pos >= kind) {
            if (pos < n) {
              const c = pos < textLen ? s.charCodeAt(begin + pos) : 10;
              if (c < 128 && (((first[f + (c >> 5)] as number) >>> (c & 31)) & 1) !== 0) break;
            }
            pos--;
          }
          if (pos < kind) continue;
        }
        if (pos > kind) {
          stack[sp + 1] = pos - 1;
          sp += 3;
        }
      }
      for (;;) {
        const vi = pc * width + pos;
        if (visited[vi] === epoch) break;
        visited[vi] = epoch;
        if (++steps > budget) {
          scratch.maxRead = maxRead;
          return RUN_ABORTED;
        }
        const base = pc * 3;
        const op = code[base] as number;
        if (op === OP_CHAR) {
          if (pos > maxRead) maxRead = pos;
          if (pos >= n || (pos < textLen ? s.charCodeAt(begin + pos) : 10) !== code[base + 1]) break;
          pc++;
          pos++;
          continue;
        }
        if (op === OP_STR) {
          const lit = prog.literals[code[base + 1] as number] as string;
          const len = code[base + 2] as number;
          let j = 0;
          for (; j < len; j++) {
            const p = pos + j;
            if (p >= n || (p < textLen ? s.charCodeAt(begin + p) : 10) !== lit.charCodeAt(j)) break;
          }
          const read = pos + (j < len ? j : len - 1);
          if (read > maxRead) maxRead = read;
          if (j < len) break;
          pc++;
          pos += len;
          continue;
        }
        if (op === OP_SET) {
          if (pos > maxRead) maxRead = pos;
          if (pos >= n) break;
          const c = pos < textLen ? s.charCodeAt(begin + pos) : 10;
          if (c > 127 || (((sets[(code[base + 1] as number) * 4 + (c >> 5)] as number) >>> (c & 31)) & 1) === 0) break;
          pc++;
          pos++;
          continue;
        }
        if (op === OP_SPLIT) {
          const a = code[base + 1] as number;
          const b = code[base + 2] as number;
          let okA = zeroWidth[a] === 1;
          let okB = zeroWidth[b] === 1;
          if (!okA || !okB) {
            if (pos > maxRead) maxRead = pos;
            if (pos < n) {
              const c = pos < textLen ? s.charCodeAt(begin + pos) : 10;
              if (c < 128) {
                const w = c >> 5;
                const bit = c & 31;
                okA ||= (((first[a * 4 + w] as number) >>> bit) & 1) !== 0;
                okB ||= (((first[b * 4 + w] as number) >>> bit) & 1) !== 0;
              }
            }
          }
          if (okB) {
            if (sp + 3 > stack.length) stack = scratch.grow();
            stack[sp] = b;
            stack[sp + 1] = pos;
            stack[sp + 2] = F_RUN;
            sp += 3;
          }
          if (!okA) break;
          pc = a;
          continue;
        }
        if (op === OP_STAR) {
          const lacks = (code[base + 2] as number) - 1;
          let k = pos;
          if (lacks >= 0) {
            // ASCII text: the run is everything up to the next `lacks` (or the end).
            const at = pos < textLen ? s.indexOf(String.fromCharCode(lacks), begin + pos) : -1;
            k = at >= 0 && at < begin + textLen ? at - begin : lacks === 10 ? textLen : n;
          } else {
            const set = (code[base + 1] as number) * 4;
            while (k < n) {
              const c = k < textLen ? s.charCodeAt(begin + k) : 10;
              if (c > 127 || (((sets[set + (c >> 5)] as number) >>> (c & 31)) & 1) === 0) break;
              k++;
            }
          }
          if (k > maxRead) maxRead = k;
          if (sp + 3 > stack.length) stack = scratch.grow();
          stack[sp] = pc + 1;
          stack[sp + 1] = k;
          stack[sp + 2] = pos;
          sp += 3;
          break;
        }
        if (op === OP_JMP) {
          pc = code[base + 1] as number;
          continue;
        }
        if (op === OP_SAVE) {
          const slot = code[base + 1] as number;
          if (sp + 3 > stack.length) stack = scratch.grow();
          stack[sp] = slot;
          stack[sp + 1] = caps[slot] as number;
          stack[sp + 2] = F_RESTORE;
          sp += 3;
          caps[slot] = pos;
          pc++;
          continue;
        }
        if (op === OP_ASSERT) {
          if (pos > maxRead) maxRead = pos;
          if (!assertAt(code[base + 1] as number, s, begin, textLen, n, pos)) break;
          pc++;
          continue;
        }
        if (op === OP_MATCH) {
          scratch.maxRead = maxRead;
          scratch.steps = steps;
          return RUN_MATCH;
        }
        break; // OP_FAIL
      }
    }
  }
  scratch.maxRead = maxRead;
  scratch.steps = steps;
  return RUN_NOMATCH;
}

function assertAt(kind: number, s: string, begin: number, textLen: number, n: number, pos: number): boolean {
  switch (kind) {
    case A_BEGIN:
      return pos === 0;
    case A_END:
      return pos === n;
    case A_END_LINE:
      return pos === n || (pos < textLen ? s.charCodeAt(begin + pos) : 10) === 10;
    case A_BEGIN_LINE:
      return pos === 0 || (pos - 1 < textLen ? s.charCodeAt(begin + pos - 1) : 10) === 10;
    case A_WORD_B:
    case A_NOT_WORD_B: {
      const before = pos > 0 && isWordCode(pos - 1 < textLen ? s.charCodeAt(begin + pos - 1) : 10);
      const after = pos < n && isWordCode(pos < textLen ? s.charCodeAt(begin + pos) : 10);
      return (before !== after) === (kind === A_WORD_B);
    }
    default:
      return false;
  }
}
