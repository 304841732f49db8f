import type { GenLine, Step } from './interleave.js';
import { clfStamp, interleave } from './interleave.js';
import { Rng, weighted } from './rng.js';

/**
 * A WordPress site's access log (combined format): visitors loading pages and assets, feeds,
 * search engines, scanners probing for other software, logins (302 on success), and password
 * guessing against wp-login.php (a POST answered 200: the form again). The guesses are about 5%.
 */
const PAGES = ['/', '/blog/', '/about/', '/contact/', '/2026/02/hello-world/', '/category/news/', '/shop/', '/?p=123', '/feed/'];
const ASSETS = ['/wp-content/themes/twentytwentyfour/style.css', '/wp-includes/js/jquery/jquery.min.js', '/wp-content/uploads/2026/02/header.jpg', '/favicon.ico', '/wp-content/plugins/contact-form-7/includes/css/styles.css'];
const PROBES = ['/.env', '/phpmyadmin/', '/admin.php', '/.git/config', '/xmlrpc.php', '/wp-config.php.bak', '/cgi-bin/luci'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
];

export function webLog(seed: number, start: number): Generator<GenLine, never> {
  const rng = new Rng(seed);
  const req = (ip: string, method: string, path: string, status: number, ua: string, ref = '-') => (ms: number) =>
    `${ip} - - [${clfStamp(ms)}] "${method} ${path} HTTP/1.1" ${status} ${status === 304 ? 0 : rng.int(200, 60000)} "${ref}" "${ua}"`;

  const episodes = {
    visit: (): Step[] => {
      const ip = rng.ip();
      const ua = rng.pick(AGENTS);
      const page = rng.pick(PAGES);
      const steps: Step[] = [{ line: req(ip, 'GET', page, 200, ua) }];
      for (let i = rng.int(2, 6); i > 0; i--) steps.push({ line: req(ip, 'GET', rng.pick(ASSETS), rng.chance(0.3) ? 304 : 200, ua, `https://www.example.org${page}`) });
      return steps;
    },
    login: (): Step[] => {
      const ip = rng.ip();
      const ua = rng.pick(AGENTS);
      return [
        { line: req(ip, 'GET', '/wp-login.php', 200, ua) },
        { line: req(ip, 'POST', '/wp-login.php', 302, ua, 'https://www.example.org/wp-login.php') },
        { line: req(ip, 'GET', '/wp-admin/', 200, ua) },
      ];
    },
    guess: (): Step[] => {
      const ip = rng.ip();
      const ua = rng.chance(0.5) ? 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0' : 'python-requests/2.31.0';
      const steps: Step[] = [];
      for (let i = rng.int(1, 3); i > 0; i--) steps.push({ line: req(ip, 'POST', '/wp-login.php', 200, ua), failure: true });
      return steps;
    },
    probe: (): Step[] => [{ line: req(rng.ip(), 'GET', rng.pick(PROBES), 404, 'Mozilla/5.0 zgrab/0.x') }],
  };
  const table = [
    ['visit', 20],
    ['login', 0.5],
    ['guess', 2.8],
    ['probe', 6],
  ] as const;
  return interleave(rng, { start, concurrency: 12, meanGapMs: 20, newEpisode: () => episodes[weighted(rng, table)]() });
}
