import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { inNumberingLane } from '../../src/shared/numbering-lane'

setDefaultTimeout(30_000)

describe('the numbering lane', () => {
  test('when many issues of one user arrive, then at most two run at once, in arrival order, and a failure frees its slot', async () => {
    let running = 0
    let most = 0
    const started: number[] = []
    const task = (i: number) => async () => {
      started.push(i)
      running++
      most = Math.max(most, running)
      await Bun.sleep(5)
      running--
      if (i === 3) throw new Error('render failed')
      return i
    }
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => inNumberingLane('user-a', task(i))),
    )
    expect(most).toBe(2)
    expect(started).toEqual(Array.from({ length: 12 }, (_, i) => i))
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(11)
  })

  test('when one user has a queue, then another user is not held up by it', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const busy = Array.from({ length: 5 }, () => inNumberingLane('user-b', () => held))
    const other = await Promise.race([
      inNumberingLane('user-c', async () => 'ran'),
      Bun.sleep(1_000).then(() => 'blocked'),
    ])
    expect(other).toBe('ran')
    release()
    await Promise.all(busy)
  })
})
