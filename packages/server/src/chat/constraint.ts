/**
 * The engine's constrained-decoding option. The chat layer plans the constraint (for
 * `response_format`, forced and strict tool calls); the engine's `constraint` option (issue 5)
 * may not exist in the installed @wenxin/engine yet, so this adapter passes it anyway (the
 * engine's option schema drops unknown keys) and `engineEnforcesConstraints` tells whether the
 * output is actually held to it.
 */
import { generateOptionsSchema, type ChatConstraint } from "@wenxin/engine";

/** True once @wenxin/engine's generate options know `constraint`. */
export function engineEnforcesConstraints(): boolean {
  const shape = (generateOptionsSchema as unknown as { shape?: Record<string, unknown> }).shape;
  return !!shape && "constraint" in shape;
}

/** The generate-options fragment that carries a constraint (empty when there is none). */
export function constraintOption(constraint: ChatConstraint | undefined): Record<string, never> {
  return (constraint ? { constraint } : {}) as Record<string, never>;
}
