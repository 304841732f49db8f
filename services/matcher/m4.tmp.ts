import { loadFilter, createUnicodeTables } from './src/filter/index.js';
const f = loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', tables: createUnicodeTables() });
const src = f.failregex[3]!.source;
console.log(src.replace(/\[\\x\{9\}-\\x\{D\}\\x\{1C\}- \\x\{85\}\\x\{A0\}\\x\{1680\}\\x\{2000\}-\\x\{200A\}\\x\{2028\}\\x\{2029\}\\x\{202F\}\\x\{205F\}\\x\{3000\}\]/g, '\\s').replace(/\[\^\\x\{9\}-\\x\{D\}\\x\{1C\}- \\x\{85\}\\x\{A0\}\\x\{1680\}\\x\{2000\}-\\x\{200A\}\\x\{2028\}\\x\{2029\}\\x\{202F\}\\x\{205F\}\\x\{3000\}\]/g, '\\S'));
console.log(f.failregex[3]!.groups);
