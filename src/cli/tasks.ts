/**
 * The RemoteTable of the demo job's nodes: the PrimeFactors tasks. Worker threads load this module.
 */
import * as PrimeFactors from "../patterns/PrimeFactors.ts"
import * as Remote from "../Remote.ts"

export const remoteTable = Remote.table(...PrimeFactors.tasks)
