import { describe, expect, it } from "vitest"
import { ratiosWithheldReason } from "../../bench/Quiet.ts"

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
