import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPortcullisError } from '@portcullis/shared';
import { PositionStore } from '../../src/positions/position-store.js';
import { createSourceRegistry, SourceRegistry } from '../../src/sources/registry.js';
import { captureLog, makeTempDir, RecordingSink } from './helpers.js';

describe('source registry', () => {
  it('has the file source registered as "file", and it works', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const reg = createSourceRegistry();
      expect(reg.kinds()).toContain('file');
      const path = join(dir, 'x.log');
      await writeFile(path, '');
      const positions = await PositionStore.open(join(dir, 'positions.json'));
      const source = reg.getSourceFactory('file')({ patterns: [{ glob: path, jails: ['j'], fromStart: false }], positions, log: captureLog().log });
      expect(source.kind).toBe('file');
      const sink = new RecordingSink();
      await source.start(sink.sink);
      await appendFile(path, 'hello\n');
      await sink.waitForLines(1);
      await source.stop();
      expect(sink.texts()).toEqual(['hello']);
    } finally {
      await cleanup();
    }
  });

  it('rejects an unknown kind and a second registration with PortcullisErrors', () => {
    const reg = new SourceRegistry();
    let err: unknown;
    try {
      reg.getSourceFactory('file');
    } catch (e) {
      err = e;
    }
    expect(isPortcullisError(err, 'PC_CONFIG_INVALID')).toBe(true);
    const full = createSourceRegistry();
    expect(() => full.registerSource('file', () => ({ kind: 'file', start: async () => {}, stop: async () => {} }))).toThrow(/already registered/);
  });

  it('a relative logpath is a configuration error', () => {
    const reg = createSourceRegistry();
    const make = (): unknown => reg.getSourceFactory('file')({ patterns: [{ glob: 'var/log/auth.log', jails: ['j'], fromStart: false }], positions: null as never, log: captureLog().log });
    expect(make).toThrow(/absolute/);
  });
});
