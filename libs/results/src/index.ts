export { ResultsQueryError } from './errors';
export { foldedText } from './folded';
export {
  compareTimed,
  countKey,
  mergeCounts,
  mergeEvents,
  mergeHist,
  mergeOutputs,
  mergeStacks,
  sortCountEntries,
  type MergeableOutput,
  type TimedEventsOutput,
  type TimedRecord,
} from './merge';
export {
  histCount,
  histOutliers,
  histPercentile,
  histStats,
  OUTLIER_FACTOR,
  type BucketBounds,
  type HistOutlier,
  type HistStats,
  type Percentile,
} from './hist-stats';
export { DEFAULT_TOP_LIMIT } from './limit';
export { countsTop, type CountsFilter, type CountsTop, type CountsTopOptions, type CountsTopRow } from './counts-top';
export {
  compareCounts,
  compareHist,
  diffFolded,
  type CountDelta,
  type CountsComparison,
  type HistComparison,
  type HistShift,
  type JobHist,
  type PercentileShift,
} from './compare';
// pprof (pprof-format, gzip) is its own entry, '@fleettrace/results/pprof': what needs a view alone (the CLI's
// local run) does not load it.
export { topFunctions, type FunctionWeight, type TopFunctions } from './top-functions';
export { countsView, eventsView, histView } from './output-views';
