/** Score normalizers shared by plugins (to 0..100, in place). */
export const MAX_SCORE = 100;

/** Higher raw score → higher normalized score (0 when all are 0). */
export function maxNormalize(scores: Float64Array): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) scores[i] = max === 0 ? 0 : (scores[i]! * MAX_SCORE) / max;
}

/** Lower raw score → higher normalized score (all 100 when all are equal to 0). */
export function reverseNormalize(scores: Float64Array): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) scores[i] = max === 0 ? MAX_SCORE : MAX_SCORE - (scores[i]! * MAX_SCORE) / max;
}

/** Min-max onto 0..100 (for scores that may be negative); all equal → 0. */
export function minMaxNormalize(scores: Float64Array): void {
  let max = -Infinity;
  let min = Infinity;
  for (const s of scores) {
    if (s > max) max = s;
    if (s < min) min = s;
  }
  const span = max - min;
  for (let i = 0; i < scores.length; i++) scores[i] = span === 0 ? 0 : ((scores[i]! - min) * MAX_SCORE) / span;
}
