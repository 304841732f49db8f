import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isBanTag, reversePointer, variableNames } from '../../src/firewall/command/ban-info.js';
import { parseScript, renderScript } from '../../src/firewall/command/shell-script.js';

/** How a ban-time tag becomes a variable reference, depending on where it stands in the shell text. */

function render(script: string): string {
  const parts = parseScript(script, isBanTag);
  const vars = variableNames(parts.flatMap((p) => (typeof p === 'string' ? [] : [p.tag])));
  return renderScript(parts, (t) => vars.get(t)!);
}

/** Runs a rendered script under dash with the given variables and returns its stdout. */
function run(script: string, env: Record<string, string>): string {
  return execFileSync('/bin/sh', ['-c', render(script)], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
}

describe('ban-time tags in shell text', () => {
  it('quotes the reference for the context it stands in', () => {
    expect(render(`printf '%s' <F-USER> '<ip>'"<F-USER>"<ip>`)).toBe(`printf '%s' "\${PC_F_USER}" ''"\${PC_IP}"''"\${PC_F_USER}""\${PC_IP}"`);
    expect(render('echo "$(printf x <ip>)" `echo <ip>` ${X:-<ip>} "${X:-<ip>}" $((<failures>+1))')).toBe(
      'echo "$(printf x "${PC_IP}")" `echo "${PC_IP}"` ${X:-"${PC_IP}"} "${X:-${PC_IP}}" $((${PC_FAILURES}+1))',
    );
    expect(render('cat <<EOF\nhello <ip> \\$(echo <ip>) $(echo <ip>)\nEOF\necho <ip> # c <ip>')).toBe(
      'cat <<EOF\nhello ${PC_IP} \\$(echo ${PC_IP}) $(echo "${PC_IP}")\nEOF\necho "${PC_IP}" # c <ip>',
    );
    expect(render('cat <<-END; echo <ip>\n\tbody <ip>\n\tEND\necho "<ip>"')).toBe('cat <<-END; echo "${PC_IP}"\n\tbody ${PC_IP}\n\tEND\necho "${PC_IP}"');
    expect(render('echo "a \\"<ip>\\" $(echo "in <ip>" \'<ip>\')"')).toBe('echo "a \\"${PC_IP}\\" $(echo "in ${PC_IP}" \'\'"${PC_IP}"\'\')"');
  });

  it('leaves configuration tags, unknown tags and redirections alone', () => {
    expect(render('cmd <name> <unknown> < in > out <ip>')).toBe('cmd <name> <unknown> < in > out "${PC_IP}"');
    expect(render('sort <<< x')).toBe('sort <<< x');
  });

  it('refuses a tag where no value can be passed (a here-document with a quoted delimiter)', () => {
    expect(() => render("cat <<'EOF'\n<ip>\nEOF")).toThrow(/quoted delimiter/);
    expect(() => render('cat <<"E"OF\nx <F-USER>\nEOF')).toThrow(/quoted delimiter/);
    expect(render("cat <<'EOF'\n<name> only\nEOF\necho <ip>")).toBe('cat <<\'EOF\'\n<name> only\nEOF\necho "${PC_IP}"');
  });

  it('names variables after their tags, numbering clashes', () => {
    expect([...variableNames(['ip', 'F-USER', 'ip-rev', 'F-A-B', 'F-A_B', 'ip'])]).toEqual([
      ['ip', 'PC_IP'],
      ['F-USER', 'PC_F_USER'],
      ['ip-rev', 'PC_IP_REV'],
      ['F-A-B', 'PC_F_A_B'],
      ['F-A_B', 'PC_F_A_B_2'],
    ]);
  });

  it('delivers every value unaltered, as one word, in every context (run under /bin/sh)', () => {
    const value = `a  b * ? [x] $(id) \`id\` 'q' "dq" \\ ; | & > <x> \${HOME} ~ #`;
    const script = [
      `printf '[%s]\\n' <F-USER>`,
      `printf '[%s]\\n' "pre <F-USER> post"`,
      `printf '[%s]\\n' 'pre <F-USER> post'`,
      `printf '[%s]\\n' "$(printf '%s' <F-USER>)"`,
      `printf '[%s]\\n' \${NOPE:-<F-USER>}`,
      `cat <<EOF\n[<F-USER>]\nEOF`,
    ].join('\n');
    expect(run(script, { PC_F_USER: value })).toBe([`[${value}]`, `[pre ${value} post]`, `[pre ${value} post]`, `[${value}]`, `[${value}]`, `[${value}]`, ''].join('\n'));
  });

  it('gives fail2ban\'s reverse-pointer spelling', () => {
    expect(reversePointer('192.0.2.10')).toBe('10.2.0.192.');
    expect(reversePointer('2001:db8::10')).toBe('0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.');
    expect(reversePointer('::1')).toBe(`1.${'0.'.repeat(31)}`);
  });
});
