/**
 * At most two issues at a time per user in this process: mark-as-sent and credit notes take the user's row lock
 * to number the document and hold it while the PDF is rendered and stored. Requests of one user that waited for
 * that lock inside their transactions each held a pooled connection meanwhile: 200 sends of one user at once kept
 * the pool of 20 full with 189 waiting, and another user's `GET /me` took up to 3.3 s. Waiting here, before the
 * transaction, costs no connection (the row lock still orders processes and instances): measured with
 * bench/concurrency.ts at 20 / 60 / 200 sends in flight, the other user's `GET /me` max went from 0.5 / 1.0 / 3.3 s
 * to 57 / 32 / 41 ms and the pool's waiting reservations from 2 / 48 / 189 to 1, for 24 / 43 / 41 sends a second
 * (22 / 42 / 55 before: only a burst of 200 by one user loses). Two rather than one: the second prepares while the
 * first holds the lock (one measured 22 / 35 / 40; four no better than two).
 */
const PER_USER = 2

interface Lane {
  active: number
  waiting: (() => void)[]
}

const lanes = new Map<string, Lane>()

export async function inNumberingLane<T>(userId: string, task: () => Promise<T>): Promise<T> {
  let lane = lanes.get(userId)
  if (!lane) {
    lane = { active: 0, waiting: [] }
    lanes.set(userId, lane)
  }
  if (lane.active >= PER_USER) await new Promise<void>((resolve) => lane!.waiting.push(resolve))
  else lane.active++
  try {
    return await task()
  } finally {
    // The slot passes straight to the next in line, or is freed.
    const next = lane.waiting.shift()
    if (next) next()
    else if (--lane.active === 0) lanes.delete(userId)
  }
}
