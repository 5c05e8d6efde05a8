/** The page's AccessCache: SelfSubjectAccessReviews with the signed-in token, reset when the token changes. */
import type { Ask } from "./access.ts";
import { useEffect, useState } from "preact/hooks";
import { AccessCache, allowedOf, reviewBody } from "./access.ts";
import { connection, request } from "./api.ts";

const REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

export const access = new AccessCache(async (a) => {
  const res = await request(REVIEWS, { method: "POST", body: JSON.stringify(reviewBody(a)), headers: { "Content-Type": "application/json" } });
  return allowedOf(await res.json());
});

let token = connection.token;
connection.subscribe(() => {
  if (connection.token === token) return;
  token = connection.token;
  access.reset();
});

/** `answer(ask)`: true / false once the api-server answered, undefined until then (re-renders when an answer arrives). */
export function useAccess(): (a: Ask) => boolean | undefined {
  const [, setTick] = useState(0);
  useEffect(() => access.subscribe(() => setTick((n) => n + 1)), []);
  return (a) => access.can(a);
}

/** `can(ask)`: true only once the api-server said the user may. */
export function useCan(): (a: Ask) => boolean {
  const answer = useAccess();
  return (a) => answer(a) === true;
}
