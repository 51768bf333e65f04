// Retrieval-augmented generation with ERNIE 4.5 in this process: WenxinEmbeddings fill an
// in-memory LangChain vector store, its retriever picks passages, ChatWenxin answers from them.
//   node examples/rag/index.mjs [MODEL_DIR]
// Without an argument it runs the tiny random-weight model bundled for tests: retrieval and
// answers are then meaningless, but every step runs; use an ERNIE 4.5 checkpoint for real ones.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Document } from "@langchain/core/documents";
import { StringOutputParser } from "@langchain/core/output_parsers";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { RunnablePassthrough, RunnableSequence } from "@langchain/core/runnables";
import { VectorStore } from "@langchain/core/vectorstores";
import { ChatWenxin, closeSharedEngines, WenxinEmbeddings } from "@wenxin/langchain";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");

/** The smallest LangChain vector store: vectors in an array, exact cosine search. */
class InMemoryVectorStore extends VectorStore {
  entries = [];

  _vectorstoreType() {
    return "in-memory";
  }

  async addVectors(vectors, documents) {
    vectors.forEach((vector, i) => this.entries.push({ vector, document: documents[i] }));
  }

  async addDocuments(documents) {
    await this.addVectors(await this.embeddings.embedDocuments(documents.map((d) => d.pageContent)), documents);
  }

  async similaritySearchVectorWithScore(query, k) {
    // WenxinEmbeddings are unit vectors, so the dot product is the cosine similarity.
    const dot = (a, b) => a.reduce((sum, x, i) => sum + x * b[i], 0);
    return this.entries
      .map(({ vector, document }) => [document, dot(vector, query)])
      .sort((a, b) => b[1] - a[1])
      .slice(0, k);
  }

  static async fromDocuments(documents, embeddings) {
    const store = new InMemoryVectorStore(embeddings, {});
    await store.addDocuments(documents);
    return store;
  }
}

const documents = [
  "ERNIE 4.5 is a family of large models released by Baidu in June 2025 under the Apache 2.0 licence.",
  "The ERNIE 4.5 text models include a dense 0.3B model and mixture-of-experts models with 21B and 300B parameters.",
  "The 21B-A3B mixture-of-experts model activates about 3B parameters per token.",
  "文心大模型4.5由百度发布，支持中文和英文。",
  "ERNIE-4.5-21B-A3B-Thinking writes its reasoning before </think> and can call tools with <tool_call> blocks.",
  "Mixture-of-experts layers route each token to a few expert feed-forward networks chosen by a router.",
].map((pageContent, i) => new Document({ pageContent, metadata: { id: i } }));

// Embeddings and chat share one engine: both name the same directory.
const load = { maxContext: 2048 };
const embeddings = new WenxinEmbeddings({ model: modelDir, load, batchSize: 16 });
const store = await InMemoryVectorStore.fromDocuments(documents, embeddings);
console.log(
  `Indexed ${documents.length} passages (${(await embeddings.embedQuery("x")).length}-dimensional unit vectors).\n`,
);

const question = "How many parameters does the ERNIE 4.5 MoE model activate per token?";
console.log(`Question: ${question}\nRetrieved:`);
for (const [doc, score] of await store.similaritySearchWithScore(question, 2))
  console.log(`  ${score.toFixed(3)}  ${doc.pageContent}`);

const prompt = ChatPromptTemplate.fromMessages([
  ["system", "Answer the question using only this context:\n{context}"],
  ["human", "{question}"],
]);
const model = new ChatWenxin({ model: modelDir, load, temperature: 0.7, topP: 0.8, seed: 3, maxTokens: 48 });
const chain = RunnableSequence.from([
  {
    context: store.asRetriever(2).pipe((docs) => docs.map((d) => d.pageContent).join("\n")),
    question: new RunnablePassthrough(),
  },
  prompt,
  model,
  new StringOutputParser(),
]);

process.stdout.write("\nAnswer: ");
for await (const piece of await chain.stream(question)) process.stdout.write(piece);
console.log();

await closeSharedEngines();
