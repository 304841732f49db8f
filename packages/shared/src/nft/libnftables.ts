import koffi from 'koffi';

/**
 * Bindings to libnftables (include/nftables/libnftables.h). Only the symbols present since
 * LIBNFTABLES_1 are bound, so nftables 0.9.x .. 1.1.x all load. In particular
 * nft_ctx_input_set_flags(NFT_CTX_INPUT_JSON) is absent before 1.0.7: there, with
 * NFT_CTX_OUTPUT_JSON set, nft_run_cmd_from_buffer tries the JSON parser first and falls back to
 * the nft language only when the buffer is not valid JSON.
 */

export const NFT_CTX_DEFAULT = 0;
export const NFT_CTX_OUTPUT_HANDLE = 1 << 3;
export const NFT_CTX_OUTPUT_JSON = 1 << 4;
export const NFT_CTX_INPUT_JSON = 1 << 1;

export const LIBNFTABLES_SONAME = 'libnftables.so.1';

export interface NftRunResult {
  /** 0 on success; libnftables returns -1 (or a negative errno) on failure. */
  rc: number;
  output: string;
  error: string;
}

/**
 * One libnftables context. Not thread-safe: its calls run one at a time, in call order, on a koffi
 * worker thread, so the event loop goes on while the kernel takes a large transaction (50,000
 * elements: 0.3 s here, during which a mass ban's next chunks are decided and its decisions
 * published).
 */
export interface LibnftablesContext {
  /** Run one buffer (one transaction) and collect what libnftables printed. */
  run(buffer: string): Promise<NftRunResult>;
  /** Frees the context once the calls already made have finished. */
  free(): void;
}

export interface Libnftables {
  readonly path: string;
  /** Whether nft_ctx_input_set_flags exists (nftables >= 1.0.7). */
  readonly hasInputFlags: boolean;
  newContext(): LibnftablesContext;
}

/** Loads libnftables; throws (a plain Error from the loader) when the library or a symbol is missing. */
export function loadLibnftables(path: string = LIBNFTABLES_SONAME): Libnftables {
  const lib = koffi.load(path);
  // Unnamed types: koffi type names are process-wide and a second load would clash.
  const ctxPtr = koffi.pointer(koffi.opaque());

  const ctxNew = lib.func('nft_ctx_new', ctxPtr, ['uint32_t']);
  const ctxFree = lib.func('nft_ctx_free', 'void', [ctxPtr]);
  const outputSetFlags = lib.func('nft_ctx_output_set_flags', 'void', [ctxPtr, 'unsigned int']);
  const bufferOutput = lib.func('nft_ctx_buffer_output', 'int', [ctxPtr]);
  const bufferError = lib.func('nft_ctx_buffer_error', 'int', [ctxPtr]);
  const getOutputBuffer = lib.func('nft_ctx_get_output_buffer', 'const char *', [ctxPtr]);
  const getErrorBuffer = lib.func('nft_ctx_get_error_buffer', 'const char *', [ctxPtr]);
  const runCmdFromBuffer = lib.func('nft_run_cmd_from_buffer', 'int', [ctxPtr, 'const char *']);
  const inputSetFlags = optionalFunc(lib, 'nft_ctx_input_set_flags', 'unsigned int', [ctxPtr, 'unsigned int']);

  return {
    path,
    hasInputFlags: inputSetFlags !== undefined,
    newContext(): LibnftablesContext {
      const ctx: unknown = ctxNew(NFT_CTX_DEFAULT);
      if (!ctx) throw new Error('nft_ctx_new returned NULL');
      outputSetFlags(ctx, NFT_CTX_OUTPUT_JSON);
      if (inputSetFlags) inputSetFlags(ctx, NFT_CTX_INPUT_JSON);
      if (bufferOutput(ctx) !== 0 || bufferError(ctx) !== 0) {
        ctxFree(ctx);
        throw new Error('nft_ctx_buffer_output/nft_ctx_buffer_error failed');
      }
      let freed = false;
      let tail: Promise<unknown> = Promise.resolve();
      const call = (buffer: string): Promise<NftRunResult> =>
        new Promise<number>((resolve, reject) => {
          runCmdFromBuffer.async(ctx, buffer, (err: unknown, rc: number) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(rc)));
        }).then((rc) => {
          // Reading a buffer also rewinds it, so every run starts with empty output and error text.
          const output = (getOutputBuffer(ctx) as string | null) ?? '';
          const error = (getErrorBuffer(ctx) as string | null) ?? '';
          return { rc, output, error };
        });
      return {
        run(buffer: string): Promise<NftRunResult> {
          if (freed) return Promise.reject(new Error('libnftables context already freed'));
          const result = tail.then(() => call(buffer));
          tail = result.catch(() => undefined);
          return result;
        },
        free(): void {
          if (freed) return;
          freed = true;
          void tail.then(() => ctxFree(ctx));
        },
      };
    },
  };
}

type KoffiLib = ReturnType<typeof koffi.load>;
type KoffiFn = ReturnType<KoffiLib['func']>;
type CType = ReturnType<typeof koffi.opaque>;

function optionalFunc(lib: KoffiLib, name: string, result: string, args: (string | CType)[]): KoffiFn | undefined {
  try {
    return lib.func(name, result, args);
  } catch {
    return undefined;
  }
}
