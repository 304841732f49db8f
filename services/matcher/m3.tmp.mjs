import RE2 from 're2';
const content = 'Failed password for alice from 192.0.2.5 port 50122 ssh2\n';
const N = 100000;
function bench(name, fn) { for (let k = 0; k < 2; k++) { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) fn(i); if (k) console.log(name.padEnd(30), (Number(process.hrtime.bigint() - t) / N).toFixed(0), 'ns'); } }
const simple = new RE2('^Failed (?:(?P<nofail>publickey)|\\S+) for (?P<inv>invalid user )?(?P<user>\\S+) from (?:(?P<ip4>\\d+\\.\\d+\\.\\d+\\.\\d+)|(?P<dns>\\S+)) port \\d+ ssh2(?m:$)', 'u');
bench('simple exec', () => simple.exec(content));
const simpleNoU = new RE2('^Failed (?:(?P<nofail>publickey)|[^ ]+) for (?P<inv>invalid user )?(?P<user>[^ ]+) from (?:(?P<ip4>[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+)|(?P<dns>[^ ]+)) port [0-9]+ ssh2(?m:$)');
bench('simple ascii exec', () => simpleNoU.exec(content));
const two = new RE2('^Failed [^ ]+ for (invalid user )?([^ ]+) from ');
bench('two exec', () => two.exec(content));
const b = Buffer.from(content);
bench('two exec buf', () => two.exec(b));
const one = new RE2('^Failed [^ ]+ for ');
bench('one exec', () => one.exec(content));
