import { loadFilter } from './src/filter/index.js';
const f = loadFilter({ configDir: '/tmp/mlt', name: 'two' });
console.log(f.maxlines, f.failregex[0]!.source, !!f.failregex[0]!.program);
const ctx = { now: Date.now(), source: 's' };
console.log(f.match('denied bob', ctx), f.match('peer 198.51.100.1', ctx));
