/** The timestamp formats Kubernetes objects carry. */

let lastSecond = NaN;
let lastText = "";

/** RFC 3339 with second precision (creationTimestamp, conditions, events). The last second's text is reused. */
export function rfc3339(t: number | Date): string {
  const ms = typeof t === "number" ? t : t.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    lastSecond = second;
  }
  return lastText;
}

/** RFC 3339 with microseconds (MicroTime: Lease acquireTime / renewTime). */
export function rfc3339Micro(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
