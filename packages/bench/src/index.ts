// @wenxin/bench: wenxin.js against llama.cpp on random-weight ERNIE 4.5 shapes, and format quality.
export { runBench, formatReport, benchModels, bytesPerToken, savedCheckpoint } from "./bench.js";
export { runConcurrencyBench, formatConcurrencyReport } from "./concurrency.js";
export type { ConcurrencyReport, ConcurrencyRow, ConcurrencyOptions } from "./concurrency.js";
export type { BenchReport, BenchRow, BenchOptions, BenchModel, WeightsFormat } from "./bench.js";
export { measureQuality } from "./quality.js";
export type { QualityRow, KvCachePrecision } from "./quality.js";
export { buildRandomModel, tensorSpecs } from "./random_model.js";
export { buildRandomQ4Model } from "./random_q4_model.js";
export { runTrainingBench, formatTrainingReport } from "./training.js";
export type { TrainingReport, TrainingRow, TrainingBenchOptions } from "./training.js";
export { runLongPromptBench, formatLongPromptReport } from "./long_prompt.js";
export type { LongPromptReport, LongPromptRow, LongPromptOptions, LongPromptKv } from "./long_prompt.js";
