// Types of train-adapter.mjs (for the TypeScript tests that import it).
export const TINY_MODEL: string;
export const ADAPTER: string;
export const CLI: string;
export const FINETUNE_ARGS: string[];
