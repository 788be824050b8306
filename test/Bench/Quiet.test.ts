import { describe, expect, it } from "vitest"
import { ratiosWithheldReason, settle } from "../../bench/Quiet.ts"

describe("the benchmark's quiet-machine gate", () => {
  it("reports ratios when every round started at or below the limit", () => {
    expect(
      ratiosWithheldReason(
        [
          { round: 1, load: 0.42 },
          { round: 2, load: 1 }
        ],
        1
      )
    ).toBeUndefined()
  })

  it("withholds them, naming each round that started above the limit, and says why", () => {
    const reason = ratiosWithheldReason(
      [
        { round: 1, load: 0.3 },
        { round: 2, load: 1.7 },
        { round: 3, load: 2.25 }
      ],
      1
    )
    expect(reason).toContain("Ratios withheld: round 2 1.70, round 3 2.25")
    expect(reason).not.toContain("round 1")
    expect(reason).toContain("slows pgbench far more than the library")
  })
})

describe("waiting for the machine to settle before a round", () => {
  it("waits while the load is above the limit and returns the load it started at", async () => {
    const loads = [2.5, 1.4, 0.8]
    const seen: Array<string> = []
    const load = await settle(
      1,
      30,
      (line) => seen.push(line),
      () => loads.shift() ?? 0.8
    )
    expect(load).toBe(0.8)
    expect(loads).toEqual([])
    expect(seen).toEqual(["waiting up to 30 s for the load average (2.50) to fall to 1"])
  })

  it("does not wait when told not to (the CI smoke), and reports the load as it is", async () => {
    expect(
      await settle(
        1,
        0,
        () => undefined,
        () => 3
      )
    ).toBe(3)
  })
})
