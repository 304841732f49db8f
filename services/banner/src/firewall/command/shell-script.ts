import { PortcullisError } from '@portcullis/shared';

/**
 * Ban-time tags (`<ip>`, `<matches>`, `<F-USER>`, ...) are never written into the shell text. Each
 * becomes a reference to an environment variable that holds the value, so the shell reads it as
 * data: `'; rm -rf /` in a user name is a string, never a command. The reference is written to
 * suit where the tag stands, so the value still arrives as one unaltered word:
 *
 *   unquoted            <ip>        -> "${PC_IP}"
 *   in "..."            "<ip>"      -> "${PC_IP}"      (the reference alone: ${PC_IP})
 *   in '...'            '<ip>'      -> ''"${PC_IP}"''  (close, reference, reopen)
 *   here-document body  <ip>        -> ${PC_IP}
 *   # comment           <ip>        -> left as written (the shell ignores it)
 *
 * A tag in a here-document with a quoted delimiter (<<'EOF') cannot receive a value without
 * splicing it into the text, so it is a configuration error. Whatever this scanner gets wrong
 * about an unusual script, the value itself is never part of the text the shell parses.
 */

export type ShellContext = 'unquoted' | 'double' | 'single';
export type ScriptPart = string | { tag: string; context: ShellContext };

type Frame =
  | { kind: 'top' }
  | { kind: 'cmd'; depth: number }
  | { kind: 'bq' }
  | { kind: 'dq' }
  | { kind: 'sq' }
  | { kind: 'param'; quoted: boolean }
  | { kind: 'arith'; depth: number }
  | { kind: 'heredoc'; delim: string; strip: boolean; quoted: boolean };

const TAG_AT = /<([^ <>]+)>/y;
const WORD_BREAK = /[\s;&|()<>]/;

/** Splits a command into text and the ban-time tags it uses, each with the shell context it stands in. */
export function parseScript(script: string, isDynamic: (tag: string) => boolean): ScriptPart[] {
  const parts: ScriptPart[] = [];
  let text = '';
  const emit = (s: string): void => {
    text += s;
  };
  const flushText = (): void => {
    if (text) parts.push(text);
    text = '';
  };
  const stack: Frame[] = [{ kind: 'top' }];
  const pending: Frame[] = [];
  let lineStart = true;
  let i = 0;
  const top = (): Frame => stack[stack.length - 1]!;

  while (i < script.length) {
    const f = top();
    const c = script[i]!;

    if (f.kind === 'heredoc' && lineStart) {
      const eol = script.indexOf('\n', i);
      const line = script.slice(i, eol < 0 ? script.length : eol);
      if ((f.strip ? line.replace(/^\t+/, '') : line) === f.delim) {
        emit(line);
        i += line.length;
        stack.pop();
        lineStart = false;
        continue;
      }
    }
    lineStart = false;

    if (c === '<') {
      TAG_AT.lastIndex = i;
      const m = TAG_AT.exec(script);
      if (m && isDynamic(m[1]!)) {
        const context = contextOf(f);
        if (f.kind === 'heredoc' && f.quoted) {
          throw new PortcullisError(
            'PC_CONFIG_INVALID',
            `<${m[1]}> stands in a here-document with a quoted delimiter (<<'${f.delim}'), where no value can be passed safely; unquote the delimiter`,
          );
        }
        flushText();
        parts.push({ tag: m[1]!, context });
        i += m[0].length;
        continue;
      }
    }

    if (f.kind === 'sq') {
      if (c === "'") stack.pop();
      emit(c);
      i++;
      continue;
    }
    if (f.kind === 'heredoc' && f.quoted) {
      emit(c);
      if (c === '\n') lineStart = true;
      i++;
      continue;
    }
    // Inside "..." and here-documents a backslash only escapes $ ` " \ and newline.
    const escapes = f.kind === 'dq' || f.kind === 'heredoc' ? /[$`"\\\n]/.test(script[i + 1] ?? '') : true;
    if (c === '\\' && i + 1 < script.length && escapes) {
      emit(script.slice(i, i + 2));
      i += 2;
      continue;
    }
    if (c === '$' && script[i + 1] === '(') {
      if (script[i + 2] === '(') {
        stack.push({ kind: 'arith', depth: 0 });
        emit('$((');
        i += 3;
      } else {
        stack.push({ kind: 'cmd', depth: 0 });
        emit('$(');
        i += 2;
      }
      continue;
    }
    if (c === '$' && script[i + 1] === '{') {
      const quoted = f.kind === 'dq' || f.kind === 'heredoc' || (f.kind === 'param' && f.quoted);
      stack.push({ kind: 'param', quoted });
      emit('${');
      i += 2;
      continue;
    }
    if (c === '`') {
      if (f.kind === 'bq') stack.pop();
      else stack.push({ kind: 'bq' });
      emit(c);
      i++;
      continue;
    }

    if (f.kind === 'dq') {
      if (c === '"') stack.pop();
      emit(c);
      i++;
      continue;
    }
    if (f.kind === 'heredoc') {
      emit(c);
      if (c === '\n') lineStart = true;
      i++;
      continue;
    }

    // Code frames (top, cmd, bq) and the word parts of ${...} and $((...)).
    if (c === "'" && !(f.kind === 'param' && f.quoted)) {
      stack.push({ kind: 'sq' });
      emit(c);
      i++;
      continue;
    }
    if (c === '"') {
      stack.push({ kind: 'dq' });
      emit(c);
      i++;
      continue;
    }
    if (f.kind === 'param') {
      if (c === '}') stack.pop();
      emit(c);
      i++;
      continue;
    }
    if (f.kind === 'arith') {
      if (c === '(') f.depth++;
      else if (c === ')') {
        if (f.depth > 0) f.depth--;
        else if (script[i + 1] === ')') {
          stack.pop();
          emit('))');
          i += 2;
          continue;
        }
      }
      emit(c);
      i++;
      continue;
    }
    if (c === '#' && (i === 0 || WORD_BREAK.test(script[i - 1]!))) {
      const eol = script.indexOf('\n', i);
      const end = eol < 0 ? script.length : eol;
      emit(script.slice(i, end));
      i = end;
      continue;
    }
    if (f.kind === 'cmd') {
      if (c === '(') f.depth++;
      else if (c === ')') {
        if (f.depth === 0) stack.pop();
        else f.depth--;
      }
    }
    if (c === '<' && script[i + 1] === '<' && script[i + 2] !== '<') {
      const doc = readHeredocStart(script, i);
      pending.push(doc.frame);
      emit(script.slice(i, doc.end));
      i = doc.end;
      continue;
    }
    emit(c);
    i++;
    if (c === '\n' && pending.length > 0) {
      // Bodies follow the line in the order their operators appeared: the first ends up on top.
      for (const doc of pending.reverse()) stack.push(doc);
      pending.length = 0;
      lineStart = true;
    }
  }
  flushText();
  return parts;
}

function contextOf(f: Frame): ShellContext {
  switch (f.kind) {
    case 'sq':
      return 'single';
    case 'dq':
    case 'heredoc':
    case 'arith':
      return 'double';
    case 'param':
      return f.quoted ? 'double' : 'unquoted';
    default:
      return 'unquoted';
  }
}

/** `<<` or `<<-`, blanks, then the delimiter word; quoting any part of it turns expansion off in the body. */
function readHeredocStart(script: string, at: number): { frame: Frame; end: number } {
  let i = at + 2;
  const strip = script[i] === '-';
  if (strip) i++;
  while (script[i] === ' ' || script[i] === '\t') i++;
  let delim = '';
  let quoted = false;
  while (i < script.length && !/[\s;&|()<>]/.test(script[i]!)) {
    const c = script[i]!;
    if (c === "'" || c === '"') {
      quoted = true;
      const close = script.indexOf(c, i + 1);
      const end = close < 0 ? script.length : close;
      delim += script.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\') {
      quoted = true;
      delim += script[i + 1] ?? '';
      i += 2;
    } else {
      delim += c;
      i++;
    }
  }
  return { frame: { kind: 'heredoc', delim, strip, quoted }, end: i };
}

/** The script text with each tag replaced by a reference to its variable (see the table above). */
export function renderScript(parts: readonly ScriptPart[], variableOf: (tag: string) => string): string {
  return parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = `\${${variableOf(p.tag)}}`;
      switch (p.context) {
        case 'unquoted':
          return `"${ref}"`;
        case 'double':
          return ref;
        case 'single':
          return `'"${ref}"'`;
      }
    })
    .join('');
}
