/**
 * A module of tasks, as an application would write it: the work, defined once under unique names,
 * and the `remoteTable` every node that runs it loads: the worker threads of
 * `Backend.workerThreads(n, { module })`, and `cloud-effect slave --load docs/guide/tasks.ts`.
 * Keep such a module free of side effects: every worker thread imports it.
 */
import { PrimeFactors, Remote, Task } from "cloud-effect"
import { Effect, Schema } from "effect"

/** A word and how many letters it has of each kind. */
export class WordStats extends Schema.TaggedClass<WordStats>()("guide/WordStats", {
  word: Schema.String,
  vowels: Schema.Int,
  consonants: Schema.Int
}) {}

/** Task: count the vowels and consonants of a word (input and output are Schema-typed). */
export const wordStats = Task.define("guide/wordStats", Schema.String, WordStats, (word) =>
  Effect.sync(() => {
    const letters = word.toLowerCase().replace(/[^a-z]/g, "")
    const vowels = letters.replace(/[^aeiou]/g, "").length
    return new WordStats({ word, vowels, consonants: letters.length - vowels })
  })
)

/** Task: numPrimeFactors of one number, under this application's own name. */
export const factors = Task.define("guide/factors", Schema.Int, Schema.Int, (n) =>
  Effect.sync(() => PrimeFactors.numPrimeFactors(n))
)

/** The definitions of this module, for every node. */
export const remoteTable = Remote.table(wordStats, factors)
