/**
 * A schema-driven fuzzer of every route. The requests are generated from the TypeBox schemas the routes
 * declare (`app.routes[].hooks`: body, query, params, headers), so a new route or field is fuzzed without
 * touching this file. Every answer must hold API.md's invariants: never a 5xx; every error the envelope with
 * a code of API.md and the X-Request-Id; small error bodies; a refusal (any 4xx) changes nothing in the
 * database; invalid input (by the schema and API.md's text and timestamp rules) is refused; another user's
 * ids behave as missing; without a valid token, 401 whatever the request.
 *
 * FUZZ_SEED sets the seed (printed with every failure), FUZZ_RUNS the number of random requests
 * (default 1500), e.g. `FUZZ_RUNS=10000 bun test tests/fuzz`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import fc from 'fast-check'
import { createTestApp, type TestApp } from '../helpers/app'
import { calibrate } from './calibrate'
import { authCases, hostileTokenCases, type NewCase, randomArbitrary, sweepCases } from './cases'
import { Runner } from './oracle'
import { type RouteSpec, routesOf } from './routes'
import { World } from './world'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201)
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1500)
// Generous: a busy 2-core CI machine is slow, and FUZZ_RUNS may be large. Slowness is not failure.
const TIMEOUT = 600_000 + RUNS * 250

let t: TestApp
let world: World
let routes: RouteSpec[]
let skipped: { key: string; why: string }[]
let calibration: Runner

beforeAll(async () => {
  // The job queue runs (without workers): send-email queues its job in the request's transaction.
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' }, { queue: true })
  ;({ fuzzed: routes, skipped } = routesOf(t.app))
  world = new World(t)
  await world.setup()
  calibration = new Runner(world)
  await calibrate(routes, world, calibration)
}, 300_000)
afterAll(() => t?.close())

/** Prints the grouped report and fails with one line per distinct failure. */
function finish(runner: Runner, title: string, started: number) {
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  const phases = Object.entries(runner.ms)
    .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)} s`)
    .join(', ')
  console.log(
    `${title}: ${runner.requests} requests (${runner.skipped} not sendable) in ${seconds} s (${phases}), seed ${SEED}`,
  )
  if (runner.failures.size > 0) console.error(runner.report(title, SEED, ` FUZZ_RUNS=${RUNS}`))
  expect(runner.summary()).toEqual([])
}

async function runAll(runner: Runner, prefix: string, cases: NewCase[]) {
  let n = 0
  for (const c of cases) await runner.run({ ...c, id: `${prefix}#${n++}` })
}

describe('every route under schema-driven fuzzing', () => {
  test('when the route table is read, then every JSON route is fuzzed and only non-JSON ones are skipped', () => {
    console.log(
      `fuzzing ${routes.length} routes; skipped: ${skipped.map((s) => `${s.key} (${s.why})`).join('; ')}`,
    )
    expect(routes.filter((r) => r.auth).length).toBeGreaterThan(5)
    expect(routes.some((r) => r.body)).toBe(true)
    for (const s of skipped)
      expect(s.key).toMatch(/ \/(docs|metrics|i)\b|^(?!GET |POST |PUT |PATCH |DELETE )/)
    // The valid requests that learnt the live roles and harvested the cursors hold the invariants too.
    if (calibration.failures.size > 0) console.error(calibration.report('calibration', SEED))
    expect(calibration.summary()).toEqual([])
  })

  test(
    'when each location of a valid request is mutated alone, then no 5xx, enveloped small errors, refusals of invalid input, and a refusal changes nothing',
    async () => {
      const started = performance.now()
      const runner = new Runner(world)
      await runAll(
        runner,
        'sweep',
        routes.flatMap((route, i) => sweepCases(route, world, i)),
      )
      finish(runner, 'one-location sweep', started)
    },
    TIMEOUT,
  )

  test(
    'when requests are generated at random from the schemas, then the same invariants hold',
    async () => {
      const started = performance.now()
      const runner = new Runner(world)
      let n = 0
      await fc.assert(
        fc.asyncProperty(randomArbitrary(routes, world), async (c) => {
          await runner.run({ ...c, id: `random#${n++}` })
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      )
      finish(runner, 'random requests', started)
    },
    TIMEOUT,
  )

  test(
    'when the token is missing or bad, then 401 UNAUTHORIZED whatever the body, path and query',
    async () => {
      const started = performance.now()
      const runner = new Runner(world)
      await runAll(
        runner,
        'auth',
        routes.flatMap((route) => authCases(route, world)),
      )
      finish(runner, 'unauthenticated requests', started)
    },
    TIMEOUT,
  )

  test(
    'when a validly signed token carries control characters in its claims, then it is refused without a 5xx',
    async () => {
      const started = performance.now()
      const runner = new Runner(world)
      await runAll(runner, 'claims', hostileTokenCases(routes, world))
      finish(runner, 'hostile token claims', started)
    },
    TIMEOUT,
  )
})
