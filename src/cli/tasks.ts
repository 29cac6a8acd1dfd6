/**
 * The RemoteTable of the demo jobs' nodes: the PrimeFactors tasks and k-means. Worker threads load this module.
 */
import * as KMeans from "../patterns/KMeans.ts"
import * as PrimeFactors from "../patterns/PrimeFactors.ts"
import * as Remote from "../Remote.ts"

export const remoteTable = Remote.table(...PrimeFactors.tasks, ...KMeans.definitions)
