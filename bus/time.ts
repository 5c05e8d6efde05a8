/** The timestamp formats Kubernetes objects carry. */

/** RFC 3339 with second precision (creationTimestamp, conditions, events). */
export function rfc3339(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** RFC 3339 with microseconds (MicroTime: Lease acquireTime / renewTime). */
export function rfc3339Micro(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
