// Moved under src/ so that `eft-footprint bench` can embed it; scripts keep this import path.
export { type SyntheticOptions, syntheticFootprints } from "../../../src/bench/synthetic-footprints.ts";
