/**
 * cloud-effect: Cloud Haskell's distributed process model for Effect.
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Backend from "./Backend.ts"
/** @since 0.1.0 */
export * as Channel from "./Channel.ts"
/** @since 0.1.0 */
export * as Message from "./Message.ts"
/** @since 0.1.0 */
export * as Node from "./Node.ts"
/** @since 0.1.0 */
export * as NodeId from "./NodeId.ts"
/** @since 0.1.0 */
export * as Notification from "./Notification.ts"
/** @since 0.1.0 */
export * as Process from "./Process.ts"
/** @since 0.1.0 */
export * as ProcessId from "./ProcessId.ts"
/** @since 0.1.0 */
export * as Protocol from "./Protocol.ts"
/** @since 0.1.0 */
export * as KMeans from "./patterns/KMeans.ts"
/** @since 0.1.0 */
export * as MapReduce from "./patterns/MapReduce.ts"
/** @since 0.1.0 */
export * as MasterSlave from "./patterns/MasterSlave.ts"
/** @since 0.1.0 */
export * as PrimeFactors from "./patterns/PrimeFactors.ts"
/** @since 0.1.0 */
export * as WorkPool from "./patterns/WorkPool.ts"
/** @since 0.1.0 */
export * as WorkPushing from "./patterns/WorkPushing.ts"
/** @since 0.1.0 */
export * as WorkStealing from "./patterns/WorkStealing.ts"
/** @since 0.1.0 */
export * as Remote from "./Remote.ts"
/** @since 0.1.0 */
export * as Task from "./Task.ts"
/** @since 0.1.0 */
export * as Transport from "./Transport.ts"
