// Posting the payment's tx hash. The hash is the visitor's only proof of a payment already sent, so
// the page keeps it until the server has recorded it or refused the transaction itself.

// Waits before posting the same hash again after a 409 or a 429 (Retry-After when it says longer).
export const REPOST_DELAYS_MS = [1000, 2000, 4000, 8000];

const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// 409: another submission held the hash for a moment (or still does); 429: the wallet has too many
// payments waiting for the chain. Both may pass: post the same hash again rather than ask for money.
export function repostsAfter(err) {
  return Boolean(err) && (err.status === 409 || err.status === 429);
}

// Whether the hash stays stored after the last answer (a reload or the Pay button posts it again).
// Forgotten only when the server refused it (402), it is not a hash (400), the submission is not the
// visitor's (403/404), or it still conflicts after every re-post (409). A 401, 429, 5xx or a network
// error keeps it: the payment was sent and must still be recorded.
export function keepsHash(err) {
  return !(err && [400, 402, 403, 404, 409].includes(err.status));
}

// post(hash) -> the server's answer; posts again after a 409/429 until REPOST_DELAYS_MS runs out.
export async function postHash(post, hash, { sleep = wait, delays = REPOST_DELAYS_MS, onRepost = () => {} } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await post(hash);
    } catch (err) {
      if (!repostsAfter(err) || attempt >= delays.length) throw err;
      const retryAfter = Number(err.retryAfter) * 1000 || 0;
      onRepost(err, attempt + 1);
      await sleep(Math.max(delays[attempt], retryAfter));
    }
  }
}
