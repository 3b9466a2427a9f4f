/** The WebAssembly objects as used here (tsconfig's lib has no WebAssembly types without DOM). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmModule {
  readonly kind?: 'module';
}
