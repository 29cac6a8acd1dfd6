/**
 * Host names as the TCP transport and the command line check them.
 * @internal
 */
import * as Net from "node:net"

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/

/**
 * A host name or an IP address, in its normal form (`0` is `0.0.0.0`, `::0` is `[::]`); undefined
 * for anything else (`10.0.0.5:4000`, `tcp://…`, a space).
 */
export const normalHost = (host: string): string | undefined => {
  const ip = Net.isIP(host)
  if (ip === 6) return new URL(`http://[${host}]`).hostname
  if (ip === 4) return host
  if (!HOST_NAME.test(host)) return undefined
  try {
    return new URL(`http://${host}`).hostname
  } catch {
    return undefined
  }
}

/** Every interface: a node listening there must say where peers reach it, and no peer can be told this. */
export const isWildcard = (host: string): boolean => host === "" || ["0.0.0.0", "[::]"].includes(normalHost(host) ?? "")
