import { loadFilter, createUnicodeTables } from './src/filter/index.js';
const tables = createUnicodeTables();
for (const name of ['sshd', 'postfix', 'dovecot']) {
  const f = loadFilter({ configDir: '/etc/fail2ban', name, tables });
  console.log(name, 'pref', JSON.stringify(f.prefregex?.literals), !!f.prefregex?.program);
  for (const r of f.failregex) console.log('  ', JSON.stringify(r.literals).slice(0, 200), !!r.program, r.program?.length);
}
