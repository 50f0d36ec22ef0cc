/** shadowvisor's public API: the one entry point front-ends import. */
export * from './user.ts';
export { COUNTER_NAMES, type CounterName } from '../hw/cpu/counters.ts';
export * as hw from './hardware.ts';
export * from './machine.ts';
export * from './compare.ts';
export type { ComparisonPlotData, ComparisonPlots } from './plots.ts';
export * from './nanobench.ts';
export * from './console-script.ts';
