/** Kept for the modules that import it from here; the text of every failure is decided in `SqlFailure.ts`. */
export { describeFailure } from "./SqlFailure.ts"
