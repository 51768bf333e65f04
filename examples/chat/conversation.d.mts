// Types of conversation.mjs (for the TypeScript tests that import it).
import type { Engine, GenerationEvent, GenerationResult } from "@wenxin/engine";

export const SYSTEM: string;
export const QUESTIONS: string[];
export const GENERATION: { maxNewTokens: number; temperature: number; topP: number; seed: number };
export function converse(
  engine: Engine,
  options?: { adapter?: string; onEvent?: (question: string, event: GenerationEvent) => void },
): Promise<GenerationResult[]>;
